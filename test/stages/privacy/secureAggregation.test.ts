/**
 * Secure aggregation's box and aggregator state machines, run against each other in memory with real node:crypto
 * keys and real Shamir shares. Expected sums are added up by hand from the inputs the test chose.
 */
import { describe, expect, it } from 'vitest';
import { SecureAggregationAggregator } from '../../../stages/privacy/secureAggregationAggregator.ts';
import { SecureAggregationBox } from '../../../stages/privacy/secureAggregationBox.ts';
import { combine } from 'shamir-secret-sharing';
import { addScaled, centred, decodeWords, expandMask, importPrivateKey, importPublicKey, signedPairwiseMask } from '../../../stages/privacy/secureAggregationCrypto.ts';
import { SecureAggregationError, type AdvertiseMessage, type RosterMessage, type SecureAggregationParameters, type UnmaskMessage } from '../../../stages/privacy/secureAggregationMessages.ts';
import { runRoundInMemory } from './secureAggregationInMemory.ts';

const BOXES = ['gate-1', 'gate-2', 'market-1', 'station-1'];
const PARAMETERS: SecureAggregationParameters = { district: 'centre', boxes: BOXES, threshold: 3, coordinates: 3, minimumInputs: 3 };
const INPUTS = new Map<string, bigint[]>([
  ['gate-1', [12n, 0n, -3n]],
  ['gate-2', [7n, 1n, 5n]],
  ['market-1', [40n, -2n, 0n]],
  ['station-1', [1n, 9n, 2n]],
]);

function flipFirstByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0]! ^= 1;
  return bytes.toString('base64');
}

describe('secure aggregation: the sum', () => {
  it('masks cancel: the aggregator decodes exactly the sum of the inputs, and no masked vector equals its input', async () => {
    const { result, masked } = await runRoundInMemory(PARAMETERS, 'w-1', INPUTS);
    // 12+7+40+1, 0+1−2+9, −3+5+0+2
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-1', sum: ['60', '8', '4'], boxes: BOXES });
    for (const message of masked) {
      const values = decodeWords(message.values, 3);
      expect(values).not.toEqual(INPUTS.get(message.box)!.map((value) => BigInt.asUintN(64, value)));
    }
  });

  it('decodes negative totals and the largest values a box may send as centred residues mod 2^64', async () => {
    const big = 1n << 55n;
    const inputs = new Map<string, bigint[]>([
      ['gate-1', [big, -big, -5n]],
      ['gate-2', [big, -big, -5n]],
      ['market-1', [big, -big, 1n]],
    ]);
    const { result } = await runRoundInMemory({ ...PARAMETERS, boxes: [...inputs.keys()], minimumInputs: 3 }, 'w-2', inputs);
    expect(result).toMatchObject({ status: 'released', sum: [String(3n * big), String(-3n * big), '-9'] });
  });

  it('a box that never shows up is simply not in the roster: the other three boxes\' total is released', async () => {
    const present = new Map([...INPUTS].filter(([box]) => box !== 'gate-2'));
    const { result } = await runRoundInMemory(PARAMETERS, 'w-absent', present);
    // Without gate-2: 12+40+1, 0−2+9, −3+0+2
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-absent', sum: ['53', '7', '-1'], boxes: ['gate-1', 'market-1', 'station-1'] });
  });

  it('a box that drops out after sharing: its masks are rebuilt from the others\' shares, the sum holds the rest', async () => {
    const { result } = await runRoundInMemory(PARAMETERS, 'w-3', INPUTS, { dropAfterSharing: ['market-1'] });
    // Without market-1: 12+7+1, 0+1+9, −3+5+2
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-3', sum: ['20', '10', '4'], boxes: ['gate-1', 'gate-2', 'station-1'] });
  });

  it('no box reveals both secrets of one box: a dropped box\'s mask-key shares, the survivors\' self-mask shares', async () => {
    const unmasks: Array<{ maskKeyBoxes: string[]; selfMaskBoxes: string[] }> = [];
    await runRoundInMemory(PARAMETERS, 'w-4', INPUTS, {
      dropAfterSharing: ['gate-2'],
      alterUnmask: (message) => {
        unmasks.push({ maskKeyBoxes: message.maskKeyShares.map((entry) => entry.box), selfMaskBoxes: message.selfMaskShares.map((entry) => entry.box) });
        return message;
      },
    });
    expect(unmasks).toHaveLength(3);
    for (const unmask of unmasks) expect(unmask).toEqual({ maskKeyBoxes: ['gate-2'], selfMaskBoxes: ['gate-1', 'market-1', 'station-1'] });
  });

  it('a box whose input arrives late stays hidden: the aggregator can strip its pairwise masks, never its self-mask', async () => {
    const unmasks: UnmaskMessage[] = [];
    const { result, roster, masked, lateMasked } = await runRoundInMemory(PARAMETERS, 'w-late', INPUTS, { late: ['market-1'], alterUnmask: (message) => (unmasks.push(message), message) });
    expect(result).toMatchObject({ status: 'released', sum: ['20', '10', '4'], boxes: ['gate-1', 'gate-2', 'station-1'] });
    const rebuild = async (box: string, kind: 'maskKeyShares' | 'selfMaskShares') =>
      combine(unmasks.flatMap((message) => message[kind].filter((entry) => entry.box === box).map((entry) => new Uint8Array(Buffer.from(entry.share, 'base64')))));
    // Everything a curious aggregator now holds about market-1: its late y and its mask key rebuilt from the shares…
    const maskKey = importPrivateKey(await rebuild('market-1', 'maskKeyShares'));
    const stripped = decodeWords(lateMasked[0]!.values, 3);
    for (const other of roster.boxes.filter((entry) => entry.box !== 'market-1')) {
      const { mask, sign } = signedPairwiseMask('w-late', maskKey, importPublicKey(other.maskKey), 'market-1', other.box, 3);
      addScaled(stripped, mask, (-sign) as 1n | -1n);
    }
    // Control, that this stripping is right: all four y's hold every pairwise mask, which cancel, so Σ y − the three
    // survivors' PRG(b) − stripped must leave exactly the released sum.
    const control = decodeWords(lateMasked[0]!.values, 3);
    for (const message of masked) addScaled(control, decodeWords(message.values, 3), 1n);
    for (const box of ['gate-1', 'gate-2', 'station-1']) addScaled(control, expandMask(await rebuild(box, 'selfMaskShares'), 3), -1n);
    addScaled(control, stripped, -1n);
    expect(control.map(centred)).toEqual([20n, 10n, 4n]);
    // …but not one share of market-1's self-mask, so what is left is its input under PRG(b), 64 random bits a value.
    expect(unmasks.flatMap((message) => message.selfMaskShares.map((entry) => entry.box))).not.toContain('market-1');
    const input = INPUTS.get('market-1')!;
    for (const [coordinate, word] of stripped.entries()) {
      const offset = centred(word - input[coordinate]!);
      expect(offset > 1n << 40n || offset < -(1n << 40n)).toBe(true);
    }
  });

  it('withholds the round when more boxes drop out than the noise allows, and releases nothing', async () => {
    const { result } = await runRoundInMemory(PARAMETERS, 'w-5', INPUTS, { dropAfterSharing: ['gate-1', 'gate-2'] });
    expect(result).toMatchObject({ status: 'withheld', reason: '2 of 4 boxes answered phase "masked"; 3 needed; no answer from gate-1, gate-2' });
  });
});

describe('secure aggregation: altered and wrong messages', () => {
  it('a sealed share altered on the way does not open: the recipient refuses it and the round still completes', async () => {
    const { result, refusedShares } = await runRoundInMemory(PARAMETERS, 'w-6', INPUTS, {
      alterShares: (message) => (message.box === 'gate-1' ? { ...message, sealed: message.sealed.map((entry) => (entry.to === 'gate-2' ? { ...entry, ciphertext: flipFirstByte(entry.ciphertext) } : entry)) } : message),
    });
    expect(refusedShares).toEqual([expect.stringMatching(/^gate-2 ← gate-1: the share box "gate-1" sealed to box "gate-2" does not open/)]);
    expect(result).toMatchObject({ status: 'released', sum: ['60', '8', '4'] });
  });

  it('a share sealed to one box and replayed to another does not open there (the pair is authenticated)', async () => {
    const { refusedShares } = await runRoundInMemory(PARAMETERS, 'w-7', INPUTS, {
      alterShares: (message) => {
        if (message.box !== 'station-1') return message;
        const forGate1 = message.sealed.find((entry) => entry.to === 'gate-1')!;
        return { ...message, sealed: message.sealed.map((entry) => (entry.to === 'gate-2' ? { ...entry, ciphertext: forGate1.ciphertext } : entry)) };
      },
    });
    expect(refusedShares).toEqual([expect.stringMatching(/^gate-2 ← station-1: .*does not open/)]);
  });

  it('a wrong Shamir share at unmasking is caught by the commitment: the round is withheld, not released wrong', async () => {
    const { result } = await runRoundInMemory(PARAMETERS, 'w-8', INPUTS, {
      alterUnmask: (message) => (message.box === 'gate-2' ? { ...message, selfMaskShares: message.selfMaskShares.map((entry) => (entry.box === 'market-1' ? { ...entry, share: flipFirstByte(entry.share) } : entry)) } : message),
    });
    expect(result).toMatchObject({ status: 'withheld', reason: expect.stringContaining('box "market-1"\'s self-mask do not rebuild the seed it committed to') });
  });

  it('a wrong share of a dropped box\'s mask key is caught against the key it advertised', async () => {
    const { result } = await runRoundInMemory(PARAMETERS, 'w-9', INPUTS, {
      dropAfterSharing: ['station-1'],
      alterUnmask: (message) => (message.box === 'gate-1' ? { ...message, maskKeyShares: message.maskKeyShares.map((entry) => ({ ...entry, share: flipFirstByte(entry.share) })) } : message),
    });
    expect(result).toMatchObject({ status: 'withheld', reason: expect.stringContaining('dropped box "station-1"\'s mask key do not rebuild the key it advertised') });
  });

  it('a box refuses a roster below the threshold, without its own keys, naming a box outside the district, or with keys a box never advertised', async () => {
    const others = ['gate-2', 'market-1', 'station-1'].map((id) => new SecureAggregationBox(PARAMETERS, id, 'w-10').advertise());
    const [gate2, market1, station1] = others as [AdvertiseMessage, AdvertiseMessage, AdvertiseMessage];
    const roster = (boxes: RosterMessage['boxes']): RosterMessage => ({ type: 'roster', round: 'w-10', boxes });
    const freshBox = () => {
      const box = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-10');
      const mine = box.advertise();
      for (const advertisement of others) box.noteAdvertisement(advertisement);
      return { box, mine };
    };
    let { box, mine } = freshBox();
    await expect(box.shareKeys(roster([mine, gate2]))).rejects.toThrow('the roster has 2 boxes, fewer than the threshold t = 3');
    ({ box } = freshBox());
    await expect(box.shareKeys(roster([mine, gate2, market1]))).rejects.toThrow('the roster does not carry box "gate-1"\'s own keys');
    ({ box, mine } = freshBox());
    await expect(box.shareKeys(roster([mine, gate2, { ...market1, box: 'elsewhere-9' }]))).rejects.toThrow('the roster names box "elsewhere-9", which is not in district "centre"');
    // An aggregator that puts keys of its own in market-1's place, to read the shares sealed to it.
    const substitute = new SecureAggregationBox(PARAMETERS, 'market-1', 'w-10').advertise();
    ({ box, mine } = freshBox());
    await expect(box.shareKeys(roster([mine, gate2, substitute, station1]))).rejects.toThrow('the roster\'s keys for box "market-1" are not the ones it advertised');
    const unheard = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-10');
    const unheardKeys = unheard.advertise();
    unheard.noteAdvertisement(gate2);
    expect(unheard.missingAdvertisements(roster([unheardKeys, gate2, market1]))).toEqual(['market-1']);
    await expect(unheard.shareKeys(roster([unheardKeys, gate2, market1]))).rejects.toThrow('the roster\'s keys for box "market-1" are not known: its own advertisement never arrived');
    expect(() => unheard.noteAdvertisement({ ...gate2, maskKey: substitute.maskKey })).toThrow('box "gate-2" advertised two different sets of keys in round "w-10"');
  });

  it('refuses a threshold of half the boxes or less', () => {
    expect(() => new SecureAggregationAggregator({ ...PARAMETERS, threshold: 2 }, 'w-15')).toThrow('threshold must be a whole number from 3 (more than half the boxes) to 4 (all of them), got 2');
  });

  it('the aggregator rejects a message from outside the district, a second one from a box, and one of the wrong phase', () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-11');
    const advertise = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-11').advertise();
    aggregator.receive(advertise);
    expect(() => aggregator.receive(advertise)).toThrow('box "gate-1" already answered phase "advertise" of round "w-11"');
    expect(() => aggregator.receive({ ...advertise, box: 'elsewhere-9' })).toThrow(SecureAggregationError);
    expect(() => aggregator.receive({ type: 'masked', round: 'w-11', box: 'gate-2', values: '' })).toThrow('box "gate-2" sent "masked" during phase "advertise" of round "w-11"');
    expect(() => aggregator.receive({ ...advertise, round: 'w-12' })).toThrow('a message of round "w-12" reached round "w-11"');
  });

  it('a box refuses to unmask when fewer inputs arrived than the noise of one release needs', async () => {
    // The aggregator would withhold such a round itself; an honest box must not rely on that.
    const boxes = BOXES.map((id) => new SecureAggregationBox(PARAMETERS, id, 'w-13'));
    const roster: RosterMessage = { type: 'roster', round: 'w-13', boxes: boxes.map((box) => box.advertise()) };
    for (const box of boxes) for (const advertisement of roster.boxes) if (advertisement.box !== box.box) box.noteAdvertisement(advertisement);
    const shares = await Promise.all(boxes.map((box) => box.shareKeys(roster)));
    for (const box of boxes) for (const message of shares) if (message.box !== box.box) box.receiveShares(message);
    const [first] = boxes;
    first!.maskInput({ type: 'sharers', round: 'w-13', boxes: BOXES }, [1n, 2n, 3n]);
    expect(() => first!.unmask({ type: 'survivors', round: 'w-13', boxes: ['gate-1', 'gate-2'] })).toThrow('the survivors has 2 boxes, fewer than the threshold t = 3');
    const strict = new SecureAggregationBox({ ...PARAMETERS, minimumInputs: 4 }, 'gate-1', 'w-14');
    const strictBoxes = [strict, ...BOXES.slice(1).map((id) => new SecureAggregationBox({ ...PARAMETERS, minimumInputs: 4 }, id, 'w-14'))];
    const strictRoster: RosterMessage = { type: 'roster', round: 'w-14', boxes: strictBoxes.map((box) => box.advertise()) };
    for (const box of strictBoxes) for (const advertisement of strictRoster.boxes) if (advertisement.box !== box.box) box.noteAdvertisement(advertisement);
    for (const box of strictBoxes) await box.shareKeys(strictRoster);
    strict.maskInput({ type: 'sharers', round: 'w-14', boxes: BOXES }, [1n, 2n, 3n]);
    expect(() => strict.unmask({ type: 'survivors', round: 'w-14', boxes: ['gate-1', 'gate-2', 'market-1'] })).toThrow('only 3 inputs arrived; the noise of one release needs 4');
  });
});
