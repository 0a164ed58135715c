/**
 * A box's secure-aggregation rounds over MQTT: drives stages/privacy/secureAggregationBox.ts with the aggregator's
 * messages from the broker and publishes its answers under the box's own topics (streams/mqtt/topics.ts).
 *
 *   const rounds = await SecureAggregationBoxClient.open({ client, site, box: 'gate-1', parameters, phaseTimeoutMs: 20_000, log });
 *   const outcome = await rounds.contribute(secureAggregationRoundId('crossings', start, 900), noisedCounts);
 *   // outcome: the round's result (released or withheld) as the aggregator published it, or abandoned with the reason
 *
 * The caller charges its ledger and adds its noise share before `contribute` (docs/privacy.md, secure aggregation);
 * the values passed in leave the box only masked. A round this box cannot finish — the aggregator silent for a
 * phase's timeout, a rule broken, the broker gone — is abandoned: to the others this box dropped out.
 */
import type { MqttClient } from 'mqtt';
import { SecureAggregationBox } from '../../stages/privacy/secureAggregationBox.ts';
import { aggregatorMessageSchema, boxMessageSchema, checkMembership, checkParameters, type AdvertiseMessage, type AggregatorMessage, type ResultMessage, type SecureAggregationParameters, type SharesMessage } from '../../stages/privacy/secureAggregationMessages.ts';
import { parseSecureAggregationTopic, secureAggregationBoxTopic, secureAggregationFilter, SECURE_AGGREGATION_AGGREGATOR_KINDS, type SecureAggregationBoxKind } from './topics.ts';
import { decodeMessage, publishMessage } from './secureAggregationWire.ts';

export interface SecureAggregationBoxOptions {
  /** A connected client (the box's own broker connection). */
  client: MqttClient;
  site: string;
  box: string;
  /** The district's parameters, from this box's own config: never taken from the aggregator. */
  parameters: SecureAggregationParameters;
  /** How long the box waits for each of the aggregator's messages before it abandons the round, ms. */
  phaseTimeoutMs: number;
  /** One line per refused message or abandoned round; never a value or a key. */
  log: (line: string) => void;
}

/** Rounds whose advertisements are kept before this box joins them (its window may close a moment after another's). */
const EARLY_ROUNDS_KEPT = 16;

export type BoxRoundOutcome = ResultMessage | { type: 'abandoned'; round: string; reason: string };

interface OpenRound {
  machine: SecureAggregationBox;
  inbox: Map<AggregatorMessage['type'], AggregatorMessage>;
  /** Shares that arrived before this box had the roster, kept until it does. */
  earlyShares: SharesMessage[];
  rosterTaken: boolean;
  wake?: () => void;
}

export class SecureAggregationBoxClient {
  private readonly rounds = new Map<string, OpenRound>();
  /** Other boxes' advertisements for rounds this box has not joined yet, by round. */
  private readonly earlyAdvertisements = new Map<string, AdvertiseMessage[]>();
  private readonly filters: string[];
  private readonly onMessage = (topic: string, payload: Buffer) => this.route(topic, payload);

  private constructor(private readonly options: SecureAggregationBoxOptions) {
    const { site, parameters } = options;
    this.filters = [...SECURE_AGGREGATION_AGGREGATOR_KINDS, 'advertise' as const, 'shares' as const].map((kind) => secureAggregationFilter(site, parameters.district, kind));
  }

  /**
   * Subscribes to the district's aggregator messages and the other boxes' advertisements and shares (QoS 1). Throws
   * when the parameters are unusable, the box is not in the district, or the broker refuses.
   */
  static async open(options: SecureAggregationBoxOptions): Promise<SecureAggregationBoxClient> {
    checkMembership(checkParameters(options.parameters), options.box);
    const client = new SecureAggregationBoxClient(options);
    options.client.on('message', client.onMessage);
    await options.client.subscribeAsync(client.filters, { qos: 1 });
    return client;
  }

  /**
   * Takes part in round `round` with `values` (counts plus this box's noise share, one per coordinate of the
   * district's vector). Resolves with the round's result, or `abandoned` with the reason; never rejects for a
   * protocol or broker problem.
   */
  async contribute(round: string, values: readonly bigint[]): Promise<BoxRoundOutcome> {
    const { box, parameters } = this.options;
    if (this.rounds.has(round)) return { type: 'abandoned', round, reason: `box "${box}" is already in round "${round}"` };
    const state: OpenRound = { machine: new SecureAggregationBox(parameters, box, round), inbox: new Map(), earlyShares: [], rosterTaken: false };
    this.rounds.set(round, state);
    try {
      await this.publish('advertise', state.machine.advertise());
      for (const advertisement of this.earlyAdvertisements.get(round) ?? []) this.noteAdvertisement(state, advertisement);
      this.earlyAdvertisements.delete(round);
      const roster = await this.next(state, 'roster');
      if (roster.type !== 'roster') return roster as ResultMessage;
      // The roster is checked against what each box published itself; the broker may deliver those a moment later.
      await this.until(state, () => state.machine.missingAdvertisements(roster).length === 0 || undefined, "advertisement from every box on the roster");
      await this.publish('shares', await state.machine.shareKeys(roster));
      state.rosterTaken = true;
      for (const shares of state.earlyShares.splice(0)) this.takeShares(state, shares);
      const sharers = await this.next(state, 'sharers');
      if (sharers.type !== 'sharers') return sharers as ResultMessage;
      await this.publish('masked', state.machine.maskInput(sharers, values));
      const survivors = await this.next(state, 'survivors');
      if (survivors.type !== 'survivors') return survivors as ResultMessage;
      await this.publish('unmask', state.machine.unmask(survivors));
      return (await this.next(state, 'result')) as ResultMessage;
    } catch (error) {
      const reason = (error as Error).message;
      this.options.log(`secure aggregation: box "${box}" abandoned round "${round}" of district "${parameters.district}": ${reason}`);
      return { type: 'abandoned', round, reason };
    } finally {
      state.wake = undefined;
      this.rounds.delete(round);
    }
  }

  /** Stops listening; rounds in progress are abandoned at their next timeout. */
  async close(): Promise<void> {
    this.options.client.removeListener('message', this.onMessage);
    if (this.options.client.connected) await this.options.client.unsubscribeAsync(this.filters);
  }

  private async publish(kind: SecureAggregationBoxKind, message: object): Promise<void> {
    await publishMessage(this.options.client, secureAggregationBoxTopic(this.options.site, this.options.parameters.district, kind, this.options.box), message);
  }

  /** The aggregator's next message of `type` for the round, or its result if that comes first; rejects at the timeout. */
  private next(state: OpenRound, type: AggregatorMessage['type']): Promise<AggregatorMessage> {
    return this.until(state, () => state.inbox.get(type) ?? state.inbox.get('result'), `"${type}" from the aggregator`);
  }

  /** Resolves with `probe`'s first defined value, checked now and at each message for the round; rejects at the timeout. */
  private until<T>(state: OpenRound, probe: () => T | undefined, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        state.wake = undefined;
        reject(new Error(`no ${what} within ${this.options.phaseTimeoutMs} ms`));
      }, this.options.phaseTimeoutMs);
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        state.wake = undefined;
        resolve(value);
      };
      state.wake = check;
      check();
    });
  }

  private route(topic: string, payload: Buffer): void {
    const parsed = parseSecureAggregationTopic(topic);
    if (!parsed || parsed.site !== this.options.site || parsed.district !== this.options.parameters.district) return;
    if (parsed.box !== undefined) {
      if ((parsed.kind !== 'advertise' && parsed.kind !== 'shares') || parsed.box === this.options.box) return;
      const decoded = decodeMessage(boxMessageSchema, payload);
      if ('problem' in decoded || decoded.message.type !== parsed.kind || decoded.message.box !== parsed.box) {
        this.options.log(`secure aggregation: box "${this.options.box}" refused a message on ${topic}: ${'problem' in decoded ? decoded.problem : `a "${decoded.message.type}" naming box "${decoded.message.box}"`}`);
        return;
      }
      const message = decoded.message;
      const state = this.rounds.get(message.round);
      if (message.type === 'advertise') {
        if (state) this.noteAdvertisement(state, message);
        else this.keepEarly(message);
      } else if (message.type === 'shares' && state) {
        if (state.rosterTaken) this.takeShares(state, message);
        else state.earlyShares.push(message);
      }
      return;
    }
    const decoded = decodeMessage(aggregatorMessageSchema, payload);
    if ('problem' in decoded || decoded.message.type !== parsed.kind) {
      this.options.log(`secure aggregation: box "${this.options.box}" refused an aggregator message on ${topic}: ${'problem' in decoded ? decoded.problem : `a "${decoded.message.type}" on the "${parsed.kind}" topic`}`);
      return;
    }
    const state = this.rounds.get(decoded.message.round);
    if (!state || state.inbox.has(decoded.message.type)) return;
    state.inbox.set(decoded.message.type, decoded.message);
    state.wake?.();
  }

  private noteAdvertisement(state: OpenRound, advertisement: AdvertiseMessage): void {
    try {
      state.machine.noteAdvertisement(advertisement);
    } catch (error) {
      this.options.log(`secure aggregation: box "${this.options.box}" refused box "${advertisement.box}"'s advertisement: ${(error as Error).message}`);
    }
    state.wake?.();
  }

  private keepEarly(advertisement: AdvertiseMessage): void {
    const kept = this.earlyAdvertisements.get(advertisement.round) ?? [];
    kept.push(advertisement);
    this.earlyAdvertisements.set(advertisement.round, kept.slice(-this.options.parameters.boxes.length));
    if (this.earlyAdvertisements.size > EARLY_ROUNDS_KEPT) this.earlyAdvertisements.delete(this.earlyAdvertisements.keys().next().value!);
  }

  private takeShares(state: OpenRound, shares: SharesMessage): void {
    try {
      state.machine.receiveShares(shares);
    } catch (error) {
      this.options.log(`secure aggregation: box "${this.options.box}" refused the shares of box "${shares.box}" in round "${shares.round}": ${(error as Error).message}`);
    }
  }
}
