/**
 * One box's side of one secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4, semi-honest variant with the
 * self-mask b_u): a pure state machine, no I/O. The transport (streams/mqtt/secureAggregationBox.ts) feeds it
 * the aggregator's messages and publishes what it returns.
 *
 *   const box = new SecureAggregationBox(parameters, 'gate-1', round);
 *   publish(box.advertise());                       // keys for this round only
 *   box.noteAdvertisement(advertiseOfAnotherBox);   // as published on that box's own topic
 *   publish(await box.shareKeys(roster));           // sealed Shamir shares of s_u^SK and b_u, one per box of U1
 *   box.receiveShares(sharesFromAnotherBox);        // keeps the one sealed to this box
 *   publish(box.maskInput(sharers, noisedValues));  // y_u = x_u + PRG(b_u) + Σ_{v∈U2} ±PRG(s_{u,v})  (mod 2^64)
 *   publish(box.unmask(survivors));                 // b-shares of U3, s-shares of U2 \ U3, never both for one box
 *
 * Each method throws SecureAggregationError when the aggregator's message breaks a rule that protects this box:
 * a set smaller than the threshold t, a box outside the district or the earlier set, keys other than those the
 * boxes advertised themselves (this one's included), or (at unmasking) fewer inputs than the noise needs. A box that throws simply stops: to the others it dropped out.
 */
import { split } from 'shamir-secret-sharing';
import type { KeyObject } from 'node:crypto';
import { addScaled, encodeWords, expandMask, generateX25519KeyPair, importPublicKey, open, pairwiseKey, randomSeed, seal, seedCommitment, signedPairwiseMask, type X25519KeyPair } from './secureAggregationCrypto.ts';
import { checkMembership, checkParameters, MAX_BOX_VALUE, sameAdvertisement, SecureAggregationError, type AdvertiseMessage, type MaskedMessage, type RosterMessage, type SecureAggregationParameters, type SharersMessage, type SharesMessage, type SurvivorsMessage, type UnmaskMessage } from './secureAggregationMessages.ts';

// A share from shamir-secret-sharing is the 32 secret bytes' polynomial values plus one byte of x-coordinate.
const SHARE_BYTES = 33;

/** What sender and recipient authenticate with a sealed share; it binds the ciphertext to its round and pair. */
function shareContext(round: string, from: string, to: string): string {
  return `veil-secagg-v1|share|${round}|${from}|${to}`;
}

type Phase = 'new' | 'advertised' | 'shared' | 'masked' | 'unmasked';

export class SecureAggregationBox {
  private readonly parameters: SecureAggregationParameters;
  private phase: Phase = 'new';
  private readonly sealingKeys: X25519KeyPair = generateX25519KeyPair();
  private readonly maskKeys: X25519KeyPair = generateX25519KeyPair();
  private readonly selfMask: Buffer = randomSeed();
  private readonly roster = new Map<string, AdvertiseMessage>();
  /** Other boxes' advertisements as they published them on their own topics, to check the roster against. */
  private readonly advertised = new Map<string, AdvertiseMessage>();
  /** The roster's keys imported once, and each pair's share key derived once (sealing and opening use it). */
  private readonly maskPublicKeys = new Map<string, KeyObject>();
  private readonly shareKeyOf = new Map<string, Buffer>();
  /** Shares other boxes (and this one) sealed to this box: box id → [share of s_v^SK, share of b_v]. */
  private readonly heldShares = new Map<string, [Buffer, Buffer]>();
  private sharers: ReadonlySet<string> = new Set();

  /** Throws an Error when the parameters are unusable or `box` is not one of the district's boxes. */
  constructor(parameters: SecureAggregationParameters, readonly box: string, readonly round: string) {
    this.parameters = checkParameters(parameters);
    checkMembership(this.parameters, box);
  }

  /** Phase 0: this round's two public keys and the commitment to the self-mask. */
  advertise(): AdvertiseMessage {
    this.advance('new', 'advertised');
    return {
      type: 'advertise',
      round: this.round,
      box: this.box,
      shareKey: this.sealingKeys.publicKey.toString('base64'),
      maskKey: this.maskKeys.publicKey.toString('base64'),
      selfMaskCommitment: seedCommitment(this.selfMask).toString('base64'),
    };
  }

  /**
   * Records another box's advertisement as that box published it (on its own topic, which the broker lets only that
   * box write): the roster the aggregator relays must carry exactly these keys, so an aggregator cannot put keys of
   * its own in a box's place. Throws SecureAggregationError for another round, a box outside the district, or a
   * second, different advertisement from one box.
   */
  noteAdvertisement(message: AdvertiseMessage): void {
    this.expectRound(message.round);
    if (!this.parameters.boxes.includes(message.box)) throw new SecureAggregationError(`an advertisement from box "${message.box}", which is not in district "${this.parameters.district}"`);
    const earlier = this.advertised.get(message.box);
    if (earlier && !sameAdvertisement(earlier, message)) throw new SecureAggregationError(`box "${message.box}" advertised two different sets of keys in round "${this.round}"`);
    this.advertised.set(message.box, message);
  }

  /** The boxes of `roster` (other than this one) whose own advertisement this box has not seen yet. */
  missingAdvertisements(roster: RosterMessage): string[] {
    return roster.boxes.map((entry) => entry.box).filter((box) => box !== this.box && !this.advertised.has(box));
  }

  /**
   * Phase 1: checks the roster against the advertisements noted, then splits s_u^SK and b_u into |U1| Shamir shares
   * with threshold t and seals each to its box of U1 (AES-GCM under the pairwise 'share' key). This box's own share
   * is kept, not sent.
   */
  async shareKeys(roster: RosterMessage): Promise<SharesMessage> {
    this.advance('advertised', 'shared');
    this.expectRound(roster.round);
    for (const entry of roster.boxes) {
      if (entry.round !== this.round) throw new SecureAggregationError(`the roster carries keys of round "${entry.round}", not "${this.round}"`);
      if (!this.parameters.boxes.includes(entry.box)) throw new SecureAggregationError(`the roster names box "${entry.box}", which is not in district "${this.parameters.district}"`);
      if (this.roster.has(entry.box)) throw new SecureAggregationError(`the roster names box "${entry.box}" twice`);
      const own = this.advertised.get(entry.box);
      if (entry.box !== this.box && (!own || !sameAdvertisement(own, entry))) {
        throw new SecureAggregationError(`the roster's keys for box "${entry.box}" are not ${own ? 'the ones it advertised' : 'known: its own advertisement never arrived'}`);
      }
      this.roster.set(entry.box, entry);
    }
    try {
      for (const entry of this.roster.values()) {
        this.maskPublicKeys.set(entry.box, importPublicKey(entry.maskKey));
        if (entry.box !== this.box) this.shareKeyOf.set(entry.box, pairwiseKey('share', this.round, this.sealingKeys.privateKeyObject, importPublicKey(entry.shareKey), this.box, entry.box));
      }
    } catch (error) {
      throw new SecureAggregationError(`the roster carries an unusable key: ${(error as Error).message}`);
    }
    const mine = this.roster.get(this.box);
    // Left out, the box abandons the round; its operator needs the likely causes, which only the aggregator knows.
    if (!mine) throw new SecureAggregationError(`the roster leaves box "${this.box}" out: the aggregator took no advertisement of it in time, or keeps it out because its district settings differ from the city's (veil aggregate's log names the field)`);
    if (mine.shareKey !== this.sealingKeys.publicKey.toString('base64') || mine.maskKey !== this.maskKeys.publicKey.toString('base64')) {
      throw new SecureAggregationError(`the roster does not carry box "${this.box}"'s own keys`);
    }
    this.requireThreshold('roster', this.roster.size);
    const members = [...this.roster.keys()].sort();
    // shamir-secret-sharing accepts a plain Uint8Array only, not a Buffer (it checks the constructor).
    const shares = (secret: Buffer) => split(new Uint8Array(secret), members.length, this.parameters.threshold);
    const [maskKeyShares, selfMaskShares] = await Promise.all([shares(this.maskKeys.privateKey), shares(this.selfMask)]);
    const sealed = [];
    for (const [index, to] of members.entries()) {
      const pair: [Buffer, Buffer] = [Buffer.from(maskKeyShares[index]!), Buffer.from(selfMaskShares[index]!)];
      if (to === this.box) {
        this.heldShares.set(this.box, pair);
        continue;
      }
      sealed.push({ to, ciphertext: seal(this.shareKeyOf.get(to)!, Buffer.concat(pair), shareContext(this.round, this.box, to)) });
    }
    return { type: 'shares', round: this.round, box: this.box, sealed };
  }

  /**
   * Keeps the share another box of the roster sealed to this box. Throws SecureAggregationError for a sender outside
   * the roster and for a share that does not open (altered on the way, or sealed under another key).
   */
  receiveShares(message: SharesMessage): void {
    if (this.phase === 'new' || this.phase === 'advertised') throw new SecureAggregationError(`box "${this.box}" got shares before the roster`);
    this.expectRound(message.round);
    const key = this.shareKeyOf.get(message.box);
    if (!key) throw new SecureAggregationError(`shares from box "${message.box}", which is not another box of the roster`);
    const entry = message.sealed.find((candidate) => candidate.to === this.box);
    if (!entry) return;
    const plain = open(key, entry.ciphertext, shareContext(this.round, message.box, this.box));
    if (!plain || plain.length !== 2 * SHARE_BYTES) throw new SecureAggregationError(`the share box "${message.box}" sealed to box "${this.box}" does not open: altered on the way or sealed under another key`);
    this.heldShares.set(message.box, [plain.subarray(0, SHARE_BYTES), plain.subarray(SHARE_BYTES)]);
  }

  /**
   * Phase 2: the masked input y_u = x_u + PRG(b_u) + Σ_{v ∈ U2, v ≠ u} ±PRG(s_{u,v}) mod 2^64. `values` is this
   * box's integer vector with its noise share already added (distributedNoise.ts), |value| ≤ MAX_BOX_VALUE.
   */
  maskInput(sharers: SharersMessage, values: readonly bigint[]): MaskedMessage {
    this.advance('shared', 'masked');
    this.expectRound(sharers.round);
    if (values.length !== this.parameters.coordinates) throw new Error(`box "${this.box}" has ${values.length} values for a round of ${this.parameters.coordinates}`);
    const tooLarge = values.find((value) => value > MAX_BOX_VALUE || value < -MAX_BOX_VALUE);
    if (tooLarge !== undefined) throw new Error(`box "${this.box}": value ${tooLarge} is beyond ±2^55, the most one box may add without the sum wrapping`);
    this.sharers = this.subsetOf('sharers', sharers.boxes, new Set(this.roster.keys()));
    const masked = [...values];
    addScaled(masked, expandMask(this.selfMask, values.length), 1n);
    for (const other of this.sharers) {
      if (other === this.box) continue;
      const { mask, sign } = signedPairwiseMask(this.round, this.maskKeys.privateKeyObject, this.maskPublicKeys.get(other)!, this.box, other, values.length);
      addScaled(masked, mask, sign);
    }
    return { type: 'masked', round: this.round, box: this.box, values: encodeWords(masked) };
  }

  /**
   * Phase 3: for each box of U3 its share of b_v, for each box of U2 \ U3 its share of s_v^SK — never both for one
   * box, so the aggregator can strip either the pairwise masks or the self-mask of a box, not both. Refuses when
   * fewer than `minimumInputs` inputs arrived: that sum would carry less noise than this box's release was charged for.
   */
  unmask(survivors: SurvivorsMessage): UnmaskMessage {
    this.advance('masked', 'unmasked');
    this.expectRound(survivors.round);
    const inputs = this.subsetOf('survivors', survivors.boxes, this.sharers);
    if (inputs.size < this.parameters.minimumInputs) {
      throw new SecureAggregationError(`only ${inputs.size} inputs arrived; the noise of one release needs ${this.parameters.minimumInputs}`);
    }
    const shareOf = (box: string, which: 0 | 1) => {
      const held = this.heldShares.get(box);
      return held ? [{ box, share: held[which].toString('base64') }] : [];
    };
    return {
      type: 'unmask',
      round: this.round,
      box: this.box,
      maskKeyShares: [...this.sharers].filter((box) => !inputs.has(box)).flatMap((box) => shareOf(box, 0)),
      selfMaskShares: [...inputs].flatMap((box) => shareOf(box, 1)),
    };
  }

  private advance(from: Phase, to: Phase): void {
    if (this.phase !== from) throw new SecureAggregationError(`box "${this.box}" is in phase "${this.phase}" of round "${this.round}", not "${from}"`);
    this.phase = to;
  }

  private expectRound(round: string): void {
    if (round !== this.round) throw new SecureAggregationError(`a message of round "${round}" reached round "${this.round}"`);
  }

  private requireThreshold(set: string, size: number): void {
    if (size < this.parameters.threshold) throw new SecureAggregationError(`the ${set} has ${size} boxes, fewer than the threshold t = ${this.parameters.threshold}`);
  }

  /** A set the aggregator announced: within the previous one, holding this box, at least t boxes. */
  private subsetOf(set: string, boxes: readonly string[], previous: ReadonlySet<string>): Set<string> {
    const members = new Set(boxes);
    if (members.size !== boxes.length) throw new SecureAggregationError(`the ${set} name a box twice`);
    const outsider = boxes.find((box) => !previous.has(box));
    if (outsider !== undefined) throw new SecureAggregationError(`the ${set} name box "${outsider}", which was not in the previous phase`);
    if (!members.has(this.box)) throw new SecureAggregationError(`the ${set} leave out box "${this.box}" itself`);
    this.requireThreshold(set, members.size);
    return members;
  }
}
