/**
 * One box's state machine message by message: each rule that protects the box, refused word for word, and the
 * edges of what it sends (the ±2^55 bound on a value, the sets it accepts from the aggregator).
 */
import { createCipheriv, diffieHellman, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecureAggregationBox } from '../../../stages/privacy/secureAggregationBox.ts';
import { generateX25519KeyPair, importPublicKey } from '../../../stages/privacy/secureAggregationCrypto.ts';
import { SecureAggregationError, type AdvertiseMessage, type RosterMessage, type SecureAggregationParameters, type SharesMessage } from '../../../stages/privacy/secureAggregationMessages.ts';

const BOXES = ['gate-1', 'gate-2', 'market-1', 'station-1'];
const PARAMETERS: SecureAggregationParameters = { district: 'centre', boxes: BOXES, threshold: 3, coordinates: 2, minimumInputs: 3 };
const refusal = (message: string) => new SecureAggregationError(message);

/** Four boxes of round "w-1" that have seen each other's advertisements, and the roster of all four. */
function advertised(): { boxes: SecureAggregationBox[]; roster: RosterMessage } {
  const boxes = BOXES.map((box) => new SecureAggregationBox(PARAMETERS, box, 'w-1'));
  const roster: RosterMessage = { type: 'roster', round: 'w-1', boxes: boxes.map((box) => box.advertise()) };
  for (const box of boxes) for (const advertisement of roster.boxes) if (advertisement.box !== box.box) box.noteAdvertisement(advertisement);
  return { boxes, roster };
}

/** The four boxes after sharing keys with each other: each holds every other box's share. */
async function shared(): Promise<{ boxes: SecureAggregationBox[]; shares: SharesMessage[] }> {
  const { boxes, roster } = advertised();
  const shares = await Promise.all(boxes.map((box) => box.shareKeys(roster)));
  for (const box of boxes) for (const message of shares) if (message.box !== box.box) box.receiveShares(message);
  return { boxes, shares };
}

describe('a box refuses, word for word', () => {
  it('a step out of order, and a message of another round', () => {
    const box = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-1');
    expect(() => box.maskInput({ type: 'sharers', round: 'w-1', boxes: BOXES }, [1n, 2n])).toThrow(refusal('box "gate-1" is in phase "new" of round "w-1", not "shared"'));
    const other = new SecureAggregationBox(PARAMETERS, 'gate-2', 'w-2').advertise();
    expect(() => box.noteAdvertisement(other)).toThrow(refusal('a message of round "w-2" reached round "w-1"'));
    expect(() => box.noteAdvertisement({ ...other, round: 'w-1', box: 'elsewhere-9' })).toThrow(refusal('an advertisement from box "elsewhere-9", which is not in district "centre"'));
  });

  it('a district that does not list the box, at construction', () => {
    expect(() => new SecureAggregationBox(PARAMETERS, 'gate-9', 'w-1')).toThrow(new Error('box "gate-9" is not one of district "centre"\'s boxes (gate-1, gate-2, market-1, station-1)'));
  });

  it('a roster carrying keys of another round, naming a box twice, or with a key that is not one', async () => {
    const fresh = () => {
      const { boxes, roster } = advertised();
      return { box: boxes[0]!, roster };
    };
    let { box, roster } = fresh();
    await expect(box.shareKeys({ ...roster, boxes: roster.boxes.map((entry) => ({ ...entry, round: 'w-0' })) })).rejects.toThrow(refusal('the roster carries keys of round "w-0", not "w-1"'));
    ({ box, roster } = fresh());
    await expect(box.shareKeys({ ...roster, boxes: [...roster.boxes, roster.boxes[1]!] })).rejects.toThrow(refusal('the roster names box "gate-2" twice'));
    // A small-order key (u = 0), advertised by gate-2 itself, so the roster matches what it advertised.
    const boxes = BOXES.map((id) => new SecureAggregationBox(PARAMETERS, id, 'w-1'));
    const advertisements = boxes.map((entry) => entry.advertise());
    advertisements[1] = { ...advertisements[1]!, shareKey: Buffer.alloc(32).toString('base64') };
    for (const advertisement of advertisements.slice(1)) boxes[0]!.noteAdvertisement(advertisement);
    await expect(boxes[0]!.shareKeys({ type: 'roster', round: 'w-1', boxes: advertisements })).rejects.toThrow(
      refusal('the roster carries an unusable key: box "gate-2" advertised a degenerate X25519 key (one of small order, RFC 7748 §6.1)'),
    );
  });

  it('shares before the roster, and shares from a box outside the roster', async () => {
    const { boxes, roster } = advertised();
    const early: SharesMessage = { type: 'shares', round: 'w-1', box: 'gate-2', sealed: [] };
    expect(() => boxes[0]!.receiveShares(early)).toThrow(refusal('box "gate-1" got shares before the roster'));
    const three: RosterMessage = { ...roster, boxes: roster.boxes.slice(0, 3) };
    await boxes[0]!.shareKeys(three);
    expect(() => boxes[0]!.receiveShares({ ...early, box: 'station-1' })).toThrow(refusal('shares from box "station-1", which is not another box of the roster'));
    expect(() => boxes[0]!.receiveShares({ ...early, box: 'gate-1' })).toThrow(refusal('shares from box "gate-1", which is not another box of the roster'));
    // A shares message with nothing sealed to this box is no refusal: the box simply holds no share of gate-2's.
    expect(() => boxes[0]!.receiveShares(early)).not.toThrow();
  });

  it('a value beyond ±2^55, and a vector of the wrong length (both the box\'s own mistakes: plain Errors)', async () => {
    const sharers = { type: 'sharers' as const, round: 'w-1', boxes: BOXES };
    const limit = 1n << 55n;
    // Each try on boxes of their own: a box that refused has stopped (it is past the masking step).
    const maskWith = async (values: bigint[]) => (await shared()).boxes[0]!.maskInput(sharers, values);
    await expect(maskWith([1n])).rejects.toThrow(new Error('box "gate-1" has 1 values for a round of 2'));
    await expect(maskWith([limit + 1n, 0n])).rejects.toThrow(new Error(`box "gate-1": value ${limit + 1n} is beyond ±2^55, the most one box may add without the sum wrapping`));
    await expect(maskWith([0n, -limit - 1n])).rejects.toThrow(new Error(`box "gate-1": value ${-limit - 1n} is beyond ±2^55, the most one box may add without the sum wrapping`));
    // ±2^55 itself is allowed (the sum of 255 of them stays below 2^63).
    await expect(maskWith([limit, -limit])).resolves.toMatchObject({ type: 'masked', box: 'gate-1' });
  });

  it('sets from the aggregator that name a box twice, a box of no earlier set, or leave this box out', async () => {
    const tries: Array<[string[], string]> = [
      [['gate-1', 'gate-2', 'gate-2', 'market-1'], 'the sharers name a box twice'],
      [['gate-1', 'gate-2', 'elsewhere-9'], 'the sharers name box "elsewhere-9", which was not in the previous phase'],
      [['gate-2', 'market-1', 'station-1'], 'the sharers leave out box "gate-1" itself'],
      [['gate-1', 'gate-2'], 'the sharers has 2 boxes, fewer than the threshold t = 3'],
    ];
    for (const [boxes, message] of tries) {
      const { boxes: machines } = await shared();
      expect(() => machines[0]!.maskInput({ type: 'sharers', round: 'w-1', boxes }, [1n, 2n])).toThrow(refusal(message));
    }
  });
});

describe('the keys in the roster and the shares sealed to a box', () => {
  it.each(['shareKey', 'maskKey', 'selfMaskCommitment'] as const)('refuses a roster with another box\'s %s alone replaced', async (field) => {
    const { boxes, roster } = advertised();
    const substitute = new SecureAggregationBox(PARAMETERS, 'market-1', 'w-1').advertise();
    const swapped = roster.boxes.map((entry) => (entry.box === 'market-1' ? { ...entry, [field]: substitute[field] } : entry));
    await expect(boxes[0]!.shareKeys({ ...roster, boxes: swapped })).rejects.toThrow(refusal('the roster\'s keys for box "market-1" are not the ones it advertised'));
  });

  it.each(['shareKey', 'maskKey'] as const)('refuses a roster with its own %s alone replaced', async (field) => {
    const { boxes, roster } = advertised();
    const substitute = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-1').advertise();
    const swapped = roster.boxes.map((entry) => (entry.box === 'gate-1' ? { ...entry, [field]: substitute[field] } : entry));
    await expect(boxes[0]!.shareKeys({ ...roster, boxes: swapped })).rejects.toThrow(refusal('the roster does not carry box "gate-1"\'s own keys'));
  });

  it('says why it may have been left out of a roster that does not name it', async () => {
    const { boxes, roster } = advertised();
    const without = roster.boxes.filter((entry) => entry.box !== 'gate-1');
    await expect(boxes[0]!.shareKeys({ ...roster, boxes: without })).rejects.toThrow(
      refusal('the roster leaves box "gate-1" out: the aggregator took no advertisement of it in time, or keeps it out because its district settings differ from the city\'s (veil aggregate\'s log names the field)'),
    );
  });

  it('refuses shares before it has even advertised', () => {
    const box = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-1');
    expect(() => box.receiveShares({ type: 'shares', round: 'w-1', box: 'gate-2', sealed: [] })).toThrow(refusal('box "gate-1" got shares before the roster'));
  });

  it('opens a share sealed to the spec (HKDF pair key, AES-256-GCM, context "veil-secagg-v1|share|round|from|to"), and refuses one of the wrong length', async () => {
    // gate-2 is played here with keys of the test's own, so it can seal what it likes.
    const sealing = generateX25519KeyPair();
    const boxes = ['gate-1', 'market-1', 'station-1'].map((id) => new SecureAggregationBox(PARAMETERS, id, 'w-1'));
    const key = Buffer.alloc(32, 9).toString('base64');
    const gate2: AdvertiseMessage = { type: 'advertise', round: 'w-1', box: 'gate-2', shareKey: sealing.publicKey.toString('base64'), maskKey: generateX25519KeyPair().publicKey.toString('base64'), selfMaskCommitment: key };
    const advertisements = [...boxes.map((box) => box.advertise()), gate2];
    const gate1 = boxes[0]!;
    for (const advertisement of advertisements.slice(1)) gate1.noteAdvertisement(advertisement);
    await gate1.shareKeys({ type: 'roster', round: 'w-1', boxes: advertisements });
    const secret = diffieHellman({ privateKey: sealing.privateKeyObject, publicKey: importPublicKey(advertisements[0]!.shareKey) });
    const pairKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'veil-secagg-v1|share|w-1|gate-1|gate-2', 32));
    const sealTo = (plaintext: Buffer, context: string) => {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', pairKey, nonce);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
    };
    const shares = (ciphertext: string): SharesMessage => ({ type: 'shares', round: 'w-1', box: 'gate-2', sealed: [{ to: 'gate-1', ciphertext }] });
    const refused = refusal('the share box "gate-2" sealed to box "gate-1" does not open: altered on the way or sealed under another key');
    // Two Shamir shares of 33 bytes each: 66 bytes. One byte short is refused although it opens.
    expect(() => gate1.receiveShares(shares(sealTo(randomBytes(66), 'veil-secagg-v1|share|w-1|gate-2|gate-1')))).not.toThrow();
    expect(() => gate1.receiveShares(shares(sealTo(randomBytes(65), 'veil-secagg-v1|share|w-1|gate-2|gate-1')))).toThrow(refused);
    // The pair key alone would open it: the context names the direction, so a share is not accepted reflected back.
    expect(() => gate1.receiveShares(shares(sealTo(randomBytes(66), 'veil-secagg-v1|share|w-1|gate-1|gate-2')))).toThrow(refused);
  });
});

describe('what a box unmasks', () => {
  it('exactly minimumInputs inputs are enough; the self-mask shares of the survivors, the mask-key shares of the rest', async () => {
    const { boxes } = await shared();
    for (const box of boxes) box.maskInput({ type: 'sharers', round: 'w-1', boxes: BOXES }, [1n, 2n]);
    const unmask = boxes[0]!.unmask({ type: 'survivors', round: 'w-1', boxes: ['gate-1', 'gate-2', 'station-1'] });
    expect(unmask.maskKeyShares.map((entry) => entry.box)).toEqual(['market-1']);
    expect(unmask.selfMaskShares.map((entry) => entry.box)).toEqual(['gate-1', 'gate-2', 'station-1']);
    // Each share is 33 bytes: 32 secret bytes' polynomial values and the x-coordinate.
    for (const entry of [...unmask.maskKeyShares, ...unmask.selfMaskShares]) expect(Buffer.from(entry.share, 'base64')).toHaveLength(33);
  });
});
