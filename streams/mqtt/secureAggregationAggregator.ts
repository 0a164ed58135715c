/**
 * The aggregator's secure-aggregation rounds over MQTT, for `veil aggregate`: listens to a district's boxes, runs
 * one stages/privacy/secureAggregationAggregator.ts per round, closes each phase when every expected box has
 * answered or `phaseTimeoutMs` has passed, and publishes each phase's message and the round's result.
 *
 *   const rounds = await SecureAggregationAggregatorClient.open({ client, site, parameters, phaseTimeoutMs: 10_000, log,
 *     onResult: (result) => store(result) });   // result.status 'released': result.sum per coordinate; or 'withheld'
 *
 * A round starts with the first box's `advertise` for a round id it has not seen. Every message is checked (topic,
 * schema, the box it names, the phase); one that fails is logged and dropped, and the round goes on without it.
 * Boxes that `keptOut` names when a round starts (their settings differ from the city's) are not waited for, and
 * their messages are refused with the reason; the result comes with every box kept out and why, and the boxes the
 * round went without. A box id two boxes advertise as in one round is kept out of it and reported (`onCopiedBox`).
 */
import type { MqttClient } from 'mqtt';
import { CopiedBoxError, SecureAggregationAggregator } from '../../stages/privacy/secureAggregationAggregator.ts';
import { boxMessageSchema, checkParameters, type AggregatorMessage, type ResultMessage, type SecureAggregationParameters } from '../../stages/privacy/secureAggregationMessages.ts';
import { parseSecureAggregationTopic, secureAggregationAggregatorTopic, secureAggregationFilter, SECURE_AGGREGATION_BOX_KINDS } from './topics.ts';
import { decodeMessage, publishMessage } from './secureAggregationWire.ts';

/** Rounds open at once per district: a window per statistic is a handful; more means someone floods round ids. */
const MAX_OPEN_ROUNDS = 64;
/** Finished round ids remembered, so a late message is recognised as late rather than as a new round. */
const FINISHED_ROUNDS_REMEMBERED = 1024;

export interface SecureAggregationAggregatorOptions {
  /** A connected client (the aggregator's broker connection). */
  client: MqttClient;
  site: string;
  parameters: SecureAggregationParameters;
  /** How long each phase waits for boxes that have not answered, ms; then it closes with those that have. */
  phaseTimeoutMs: number;
  /** One line per refused message, per withheld round; never a value or a key. */
  log: (line: string) => void;
  /**
   * Why a box of the district may not take part in a round starting now (e.g. "settings differ: epsilon"), or
   * undefined; asked once per box as each round starts. Left out: every box may.
   */
  keptOut?: (box: string) => string | undefined;
  /**
   * Each round's result, released or withheld, as published, the boxes kept out of it with the reason, and the
   * district's boxes whose input it lacks (kept out, or silent in a phase), sorted.
   */
  onResult: (result: ResultMessage, keptOut: ReadonlyArray<{ box: string; reason: string }>, missing: readonly string[]) => void;
  /** A box id that two boxes advertised as in `round` (a copied site.yaml): the round went on without it. */
  onCopiedBox?: (box: string, round: string) => void;
}

interface OpenRound {
  machine: SecureAggregationAggregator;
  /** Messages and phase closings of one round run one after another. */
  chain: Promise<void>;
  timer?: NodeJS.Timeout;
  /** Bumped at each phase closing, so a timer set for an earlier phase does nothing. */
  phaseNumber: number;
}

export class SecureAggregationAggregatorClient {
  private readonly rounds = new Map<string, OpenRound>();
  private readonly finished: string[] = [];
  private readonly filters: string[];
  private readonly onMessage = (topic: string, payload: Buffer) => this.route(topic, payload);

  private constructor(private readonly options: SecureAggregationAggregatorOptions) {
    this.filters = SECURE_AGGREGATION_BOX_KINDS.map((kind) => secureAggregationFilter(options.site, options.parameters.district, kind));
  }

  /** Subscribes to the district's box messages (QoS 1). Throws when the parameters are unusable or the broker refuses. */
  static async open(options: SecureAggregationAggregatorOptions): Promise<SecureAggregationAggregatorClient> {
    checkParameters(options.parameters);
    const client = new SecureAggregationAggregatorClient(options);
    options.client.on('message', client.onMessage);
    await options.client.subscribeAsync(client.filters, { qos: 1 });
    return client;
  }

  /** Stops listening and drops the rounds in progress (their boxes abandon them at their timeout). */
  async close(): Promise<void> {
    this.options.client.removeListener('message', this.onMessage);
    for (const round of this.rounds.values()) clearTimeout(round.timer);
    this.rounds.clear();
    if (this.options.client.connected) await this.options.client.unsubscribeAsync(this.filters);
  }

  private route(topic: string, payload: Buffer): void {
    const { site, parameters, log } = this.options;
    const parsed = parseSecureAggregationTopic(topic);
    if (!parsed || parsed.box === undefined || parsed.site !== site || parsed.district !== parameters.district) return;
    const decoded = decodeMessage(boxMessageSchema, payload);
    if ('problem' in decoded) {
      log(`secure aggregation: refused a malformed message on ${topic}: ${decoded.problem}`);
      return;
    }
    const message = decoded.message;
    if (message.type !== parsed.kind || message.box !== parsed.box) {
      log(`secure aggregation: refused a "${message.type}" naming box "${message.box}" on ${topic}: a box speaks only for itself, on its own topic`);
      return;
    }
    let round = this.rounds.get(message.round);
    if (!round) {
      if (this.finished.includes(message.round)) {
        log(`secure aggregation: box "${message.box}"'s "${message.type}" came after round "${message.round}" ended`);
        return;
      }
      if (message.type !== 'advertise' || this.rounds.size >= MAX_OPEN_ROUNDS) {
        log(`secure aggregation: refused box "${message.box}"'s "${message.type}" for round "${message.round}", which is not open${message.type === 'advertise' ? ` (${MAX_OPEN_ROUNDS} rounds already are)` : ''}`);
        return;
      }
      const keptOut = new Map(parameters.boxes.flatMap((box) => {
        const reason = this.options.keptOut?.(box);
        return reason === undefined ? [] : [[box, reason] as const];
      }));
      round = { machine: new SecureAggregationAggregator(parameters, message.round, keptOut), chain: Promise.resolve(), phaseNumber: 0 };
      this.rounds.set(message.round, round);
      this.startTimer(round);
    }
    const open = round;
    open.chain = open.chain.then(async () => {
      if (this.rounds.get(message.round) !== open) return;
      try {
        open.machine.receive(message);
      } catch (error) {
        if (error instanceof CopiedBoxError && this.options.onCopiedBox) this.options.onCopiedBox(error.box, message.round);
        else log(`secure aggregation: refused box "${message.box}"'s "${message.type}": ${(error as Error).message}`);
        if (open.machine.phaseComplete()) await this.closePhase(open);
        return;
      }
      if (open.machine.phaseComplete()) await this.closePhase(open);
    });
  }

  private startTimer(round: OpenRound): void {
    const phaseNumber = round.phaseNumber;
    round.timer = setTimeout(() => {
      round.chain = round.chain.then(() => (round.phaseNumber === phaseNumber ? this.closePhase(round) : undefined));
    }, this.options.phaseTimeoutMs);
  }

  private async closePhase(round: OpenRound): Promise<void> {
    clearTimeout(round.timer);
    round.phaseNumber += 1;
    const message: AggregatorMessage = await round.machine.closePhase();
    const { site, parameters } = this.options;
    try {
      await publishMessage(this.options.client, secureAggregationAggregatorTopic(site, parameters.district, message.type), message);
    } catch (error) {
      this.options.log(`secure aggregation: could not publish "${message.type}" of round "${round.machine.round}": ${(error as Error).message}`);
    }
    if (message.type !== 'result') {
      this.startTimer(round);
      return;
    }
    this.rounds.delete(round.machine.round);
    this.finished.push(round.machine.round);
    if (this.finished.length > FINISHED_ROUNDS_REMEMBERED) this.finished.shift();
    if (message.status === 'withheld') this.options.log(`secure aggregation: round "${message.round}" of district "${parameters.district}" withheld: ${message.reason}`);
    this.options.onResult(message, round.machine.keptOut(), round.machine.missing());
  }
}
