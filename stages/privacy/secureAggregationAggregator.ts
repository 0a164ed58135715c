/**
 * The aggregator's side of one secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4, semi-honest variant
 * with self-masks): a pure state machine, no I/O, no clock. The transport feeds it each box's message as it arrives
 * and calls `closePhase()` when every expected box has answered (`phaseComplete()`) or the phase's timeout passed.
 *
 *   const round = new SecureAggregationAggregator(parameters, roundId);
 *   round.receive(advertise);                      // …from each box
 *   publish(await round.closePhase());             // roster U1, then sharers U2, survivors U3, then the result
 *
 * The result is the district total Σ_{u∈U3} (x_u + noise_u), recovered exactly:
 *   Σ_{u∈U3} y_u − Σ_{u∈U3} PRG(b_u) − Σ_{v∈U2\U3} Σ_{u∈U3} ±PRG(s_{u,v})   (mod 2^64, then centred)
 * with b_u and s_v^SK rebuilt from at least t Shamir shares and checked against what their owners advertised. A
 * round is withheld, never released partly, when a phase has fewer than t boxes, fewer than `minimumInputs` inputs
 * arrived, fewer than t boxes answered the unmasking, or a rebuilt secret does not match (an altered share).
 *
 * A box known to run other district settings is kept out from the start (`keptOut`, from its published settings,
 * pipeline/districtSettingsCheck.ts); one whose masked vector has another length than the district's is kept out
 * from then on (it shared its keys already, so to the unmasking it is a dropout). Either way the round goes on
 * without it by the same rules, and `keptOut()` names it with the reason.
 *
 * Two advertisements with different keys under one box id mean two boxes run as that box (a copied site.yaml): the
 * aggregator cannot tell which is the district's, so it keeps the box out of the round (CopiedBoxError), in whatever
 * phase the second one arrives — a dropout from then on, or a withheld round once its input is among the survivors.
 * A box that did not answer a phase it was expected in is named by `missing()` and in a withheld round's reason.
 */
import { combine } from 'shamir-secret-sharing';
import { addScaled, centred, decodeWords, WORD_BYTES, expandMask, importPrivateKey, importPublicKey, publicKeyOf, sameBytes, seedCommitment, signedPairwiseMask } from './secureAggregationCrypto.ts';
import { checkParameters, MAX_REASON_CHARS, sameAdvertisement, SecureAggregationError, type AdvertiseMessage, type AggregatorMessage, type BoxMessage, type ResultMessage, type SecureAggregationParameters } from './secureAggregationMessages.ts';

/** A masked vector's length for a reason: "3 values", or its bytes when they are no whole number of values. */
function maskedLength(values: string): string {
  const bytes = Buffer.from(values, 'base64').length;
  if (bytes % WORD_BYTES !== 0) return `${bytes} bytes`;
  return bytes / WORD_BYTES === 1 ? '1 value' : `${bytes / WORD_BYTES} values`;
}

/** Refusal of a second, different advertisement under one box id: the box is kept out of the round from then on. */
export class CopiedBoxError extends SecureAggregationError {
  constructor(readonly box: string, round: string) {
    super(`box "${box}" advertised two different sets of keys in round "${round}": two boxes run as "${box}"; it is kept out of the round`);
  }
}

/** The reason a box advertised twice is kept out, as the total and a withheld round state it. */
export const copiedBoxReason = (box: string) => `two boxes advertise as "${box}"`;

type Phase = 'advertise' | 'shares' | 'masked' | 'unmask' | 'done';
const EXPECTED_TYPE: Record<Phase, BoxMessage['type'] | undefined> = { advertise: 'advertise', shares: 'shares', masked: 'masked', unmask: 'unmask', done: undefined };

/** The round's outcome, with the sum as integers (the result message carries them as decimal strings). */
type RoundOutcome = { status: 'released'; sum: bigint[]; boxes: string[] } | { status: 'withheld'; reason: string };

export class SecureAggregationAggregator {
  private readonly parameters: SecureAggregationParameters;
  private phase: Phase = 'advertise';
  /** Who may answer in the current phase: the district, then U1, U2, U3. */
  private expected: ReadonlySet<string>;
  private readonly keys = new Map<string, AdvertiseMessage>();
  private readonly answered = new Map<string, BoxMessage>();
  private sharers: string[] = [];
  private readonly masked = new Map<string, bigint[]>();
  private readonly keptOutReasons: Map<string, string>;
  /** Boxes that did not answer a phase they were expected in. */
  private readonly silent = new Set<string>();

  /**
   * Throws an Error when the parameters cannot run a round (checkParameters). `keptOut`: boxes of the district that
   * may not take part, each with the reason (e.g. "settings differ: epsilon"); the round neither expects nor waits
   * for them.
   */
  constructor(parameters: SecureAggregationParameters, readonly round: string, keptOut: ReadonlyMap<string, string> = new Map()) {
    this.parameters = checkParameters(parameters);
    this.keptOutReasons = new Map([...keptOut].filter(([box]) => this.parameters.boxes.includes(box)));
    this.expected = new Set(this.parameters.boxes.filter((box) => !this.keptOutReasons.has(box)));
  }

  /** The district's boxes kept out of this round so far, by box id, each with the reason. */
  keptOut(): Array<{ box: string; reason: string }> {
    return [...this.keptOutReasons].sort(([a], [b]) => a.localeCompare(b)).map(([box, reason]) => ({ box, reason }));
  }

  /**
   * The district's boxes whose input is not in the round, sorted: kept out, or silent in a phase they were expected
   * in (a box of U1 that does not answer the unmasking is among them though its input is summed).
   */
  missing(): string[] {
    return this.parameters.boxes.filter((box) => this.keptOutReasons.has(box) || this.silent.has(box)).sort();
  }

  /**
   * Takes one box's message for the current phase. Throws SecureAggregationError — and keeps nothing of it — for a
   * message of another round or phase, from a box kept out or not expected now, a second message from one box, or a
   * masked vector of the wrong length (which keeps its box out from then on). Throws CopiedBoxError for a second
   * advertisement with other keys under one box id (the box is kept out from then on). The transport logs it; the
   * round goes on.
   */
  receive(message: BoxMessage): void {
    if (message.round !== this.round) throw new SecureAggregationError(`a message of round "${message.round}" reached round "${this.round}"`);
    const keptOut = this.keptOutReasons.get(message.box);
    if (keptOut !== undefined) throw new SecureAggregationError(`box "${message.box}" is kept out of round "${this.round}": ${keptOut}`);
    if (message.type === 'advertise') this.refuseCopies(message);
    if (message.type !== EXPECTED_TYPE[this.phase]) throw new SecureAggregationError(`box "${message.box}" sent "${message.type}" during phase "${this.phase}" of round "${this.round}"`);
    if (!this.expected.has(message.box)) throw new SecureAggregationError(`box "${message.box}" is not expected in phase "${this.phase}" of round "${this.round}"`);
    if (this.answered.has(message.box)) throw new SecureAggregationError(`box "${message.box}" already answered phase "${this.phase}" of round "${this.round}"`);
    if (message.type === 'advertise') {
      const malformed = (['shareKey', 'maskKey', 'selfMaskCommitment'] as const).find((field) => Buffer.from(message[field], 'base64').length !== 32);
      if (malformed) throw new SecureAggregationError(`box "${message.box}" advertised a ${malformed} that is not 32 bytes`);
    }
    if (message.type === 'masked') {
      try {
        this.masked.set(message.box, decodeWords(message.values, this.parameters.coordinates));
      } catch (error) {
        // A vector of another length means the box lays out another district (its classes differ): as with
        // settings known to differ, it stays out of the round, named.
        this.keptOutReasons.set(message.box, `vector length differs: ${maskedLength(message.values)}, the district's ${this.parameters.coordinates} (secureAggregation.classes)`);
        throw new SecureAggregationError(`box "${message.box}": ${(error as Error).message}`);
      }
    }
    this.answered.set(message.box, message);
  }

  /** Keeps a box out when `message` is a second advertisement of it with other keys, in whatever phase it comes. */
  private refuseCopies(message: AdvertiseMessage): void {
    if (this.phase === 'done') return;
    const answered = this.answered.get(message.box);
    const earlier = this.keys.get(message.box) ?? (answered?.type === 'advertise' ? answered : undefined);
    if (!earlier || sameAdvertisement(earlier, message)) return;
    this.keptOutReasons.set(message.box, copiedBoxReason(message.box));
    this.expected = new Set([...this.expected].filter((box) => box !== message.box));
    this.answered.delete(message.box);
    // Once the survivors are announced its input is in the sum for good: the unmasking withholds the round.
    if (this.phase !== 'unmask') this.masked.delete(message.box);
    throw new CopiedBoxError(message.box, this.round);
  }

  /** Whether every box expected in this phase has answered, so the phase can close before its timeout. */
  phaseComplete(): boolean {
    return this.phase !== 'done' && this.answered.size === this.expected.size;
  }

  /**
   * Ends the current phase with the boxes that answered and returns the message for the boxes: the next phase's
   * set, or the round's result (released or withheld). Throws SecureAggregationError once the round is done.
   */
  async closePhase(): Promise<AggregatorMessage> {
    const answered = [...this.answered.keys()].sort();
    const phase = this.phase;
    if (phase === 'done') throw new SecureAggregationError(`round "${this.round}" is already done`);
    const needed = phase === 'masked' ? Math.max(this.parameters.threshold, this.parameters.minimumInputs) : this.parameters.threshold;
    const unanswered = [...this.expected].filter((box) => !this.answered.has(box)).sort();
    for (const box of unanswered) this.silent.add(box);
    if (answered.length < needed) {
      const keptOut = this.keptOut().map(({ box, reason }) => `${box} (${reason})`);
      const noAnswer = unanswered.length > 0 ? `; no answer from ${unanswered.join(', ')}` : '';
      return this.finish({ status: 'withheld', reason: `${answered.length} of ${this.expected.size} boxes answered phase "${phase}"; ${needed} needed${noAnswer}${keptOut.length > 0 ? `; kept out: ${keptOut.join(', ')}` : ''}` });
    }
    const messages = [...this.answered.values()];
    this.answered.clear();
    this.expected = new Set(answered);
    if (phase === 'advertise') {
      for (const message of messages) if (message.type === 'advertise') this.keys.set(message.box, message);
      this.phase = 'shares';
      return { type: 'roster', round: this.round, boxes: answered.map((box) => this.keys.get(box)!) };
    }
    if (phase === 'shares') {
      this.sharers = answered;
      this.phase = 'masked';
      return { type: 'sharers', round: this.round, boxes: answered };
    }
    if (phase === 'masked') {
      this.phase = 'unmask';
      return { type: 'survivors', round: this.round, boxes: answered };
    }
    return this.finish(await this.unmaskedSum(messages));
  }

  private finish(outcome: RoundOutcome): ResultMessage {
    this.phase = 'done';
    return outcome.status === 'released'
      ? { type: 'result', status: 'released', round: this.round, sum: outcome.sum.map(String), boxes: outcome.boxes }
      : { type: 'result', status: 'withheld', round: this.round, reason: outcome.reason.slice(0, MAX_REASON_CHARS) };
  }

  private async unmaskedSum(responses: BoxMessage[]): Promise<RoundOutcome> {
    const inputs = [...this.masked.keys()].sort();
    const copied = inputs.filter((box) => this.keptOutReasons.has(box));
    if (copied.length > 0) return { status: 'withheld', reason: `kept out after their input was masked in: ${copied.map((box) => `${box} (${this.keptOutReasons.get(box)})`).join(', ')}` };
    const dropped = this.sharers.filter((box) => !this.masked.has(box));
    const sum = new Array<bigint>(this.parameters.coordinates).fill(0n);
    for (const box of inputs) addScaled(sum, this.masked.get(box)!, 1n);
    const sharesFor = (box: string, kind: 'maskKeyShares' | 'selfMaskShares') =>
      responses.flatMap((response) => (response.type === 'unmask' ? response[kind].filter((entry) => entry.box === box).map((entry) => Buffer.from(entry.share, 'base64')) : []));
    for (const box of inputs) {
      const seed = await this.rebuild(sharesFor(box, 'selfMaskShares'));
      if (!seed || !sameBytes(seedCommitment(seed), Buffer.from(this.keys.get(box)!.selfMaskCommitment, 'base64'))) {
        return { status: 'withheld', reason: `the shares of box "${box}"'s self-mask do not rebuild the seed it committed to: a share is missing or was altered` };
      }
      addScaled(sum, expandMask(seed, this.parameters.coordinates), -1n);
    }
    for (const box of dropped) {
      const rebuilt = await this.rebuild(sharesFor(box, 'maskKeyShares'));
      const maskKey = rebuilt?.length === 32 ? importPrivateKey(rebuilt) : undefined;
      if (!maskKey || !sameBytes(publicKeyOf(maskKey), Buffer.from(this.keys.get(box)!.maskKey, 'base64'))) {
        return { status: 'withheld', reason: `the shares of dropped box "${box}"'s mask key do not rebuild the key it advertised: a share is missing or was altered` };
      }
      // Each survivor u added sign(u, box)·PRG(s_{u,box}); from the dropped box's side that pair's sign is the opposite.
      for (const survivor of inputs) {
        const { mask, sign } = signedPairwiseMask(this.round, maskKey, importPublicKey(this.keys.get(survivor)!.maskKey), box, survivor, this.parameters.coordinates);
        addScaled(sum, mask, sign);
      }
    }
    return { status: 'released', sum: sum.map(centred), boxes: inputs };
  }

  /** Combines ≥ t shares into the secret; undefined when too few arrived or they are not shares of one secret. */
  private async rebuild(shares: Buffer[]): Promise<Buffer | undefined> {
    if (shares.length < this.parameters.threshold) return undefined;
    try {
      return Buffer.from(await combine(shares.map((share) => new Uint8Array(share))));
    } catch {
      return undefined;
    }
  }
}
