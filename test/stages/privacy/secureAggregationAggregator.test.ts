/**
 * The aggregator's state machine message by message: what it refuses (each refusal word for word), when a phase is
 * complete, and how many answers each phase needs (t, or max(t, minimumInputs) for the masked inputs).
 */
import { describe, expect, it } from 'vitest';
import { CopiedBoxError, SecureAggregationAggregator } from '../../../stages/privacy/secureAggregationAggregator.ts';
import { SecureAggregationBox } from '../../../stages/privacy/secureAggregationBox.ts';
import { SecureAggregationError, type AdvertiseMessage, type SecureAggregationParameters, type UnmaskMessage } from '../../../stages/privacy/secureAggregationMessages.ts';
import { runRoundInMemory } from './secureAggregationInMemory.ts';

const BOXES = ['gate-1', 'gate-2', 'market-1', 'station-1'];
const PARAMETERS: SecureAggregationParameters = { district: 'centre', boxes: BOXES, threshold: 3, coordinates: 2, minimumInputs: 3 };

/** An aggregator of round "w-1" that has closed its advertise phase with every box; the boxes' advertisements. */
async function afterRoster(parameters = PARAMETERS): Promise<{ aggregator: SecureAggregationAggregator; advertisements: AdvertiseMessage[] }> {
  const aggregator = new SecureAggregationAggregator(parameters, 'w-1');
  const advertisements = BOXES.map((box) => new SecureAggregationBox(parameters, box, 'w-1').advertise());
  for (const advertisement of advertisements) aggregator.receive(advertisement);
  await aggregator.closePhase();
  return { aggregator, advertisements };
}

const refusal = (message: string) => new SecureAggregationError(message);

describe('the aggregator refuses, word for word, and keeps nothing of what it refused', () => {
  it('a box outside the district', () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    const advertise = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-1').advertise();
    expect(() => aggregator.receive({ ...advertise, box: 'elsewhere-9' })).toThrow(refusal('box "elsewhere-9" is not expected in phase "advertise" of round "w-1"'));
    expect(aggregator.phaseComplete()).toBe(false);
  });

  it.each(['shareKey', 'maskKey', 'selfMaskCommitment'] as const)('an advertised %s that is not 32 bytes', (field) => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    const advertise = new SecureAggregationBox(PARAMETERS, 'gate-1', 'w-1').advertise();
    expect(() => aggregator.receive({ ...advertise, [field]: Buffer.alloc(31).toString('base64') })).toThrow(refusal(`box "gate-1" advertised a ${field} that is not 32 bytes`));
    // Refused, so not answered: the box may still send a sound advertisement.
    expect(() => aggregator.receive(advertise)).not.toThrow();
  });

  it('a masked vector of the wrong length, naming the box', async () => {
    const { aggregator } = await afterRoster();
    for (const box of BOXES) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    await aggregator.closePhase();
    // Two coordinates are 16 bytes; 8 bytes is one.
    expect(() => aggregator.receive({ type: 'masked', round: 'w-1', box: 'gate-2', values: Buffer.alloc(8).toString('base64') })).toThrow(
      refusal('box "gate-2": a masked vector of 2 values has 16 bytes, got 8'),
    );
    expect(aggregator.phaseComplete()).toBe(false);
  });

  it('any phase once the round is done', async () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: '0 of 4 boxes answered phase "advertise"; 3 needed; no answer from gate-1, gate-2, market-1, station-1' });
    await expect(aggregator.closePhase()).rejects.toThrow(refusal('round "w-1" is already done'));
    expect(aggregator.phaseComplete()).toBe(false);
  });
});

describe('when a phase may close, and with how many answers', () => {
  it('is complete when every box expected has answered, and only then', () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    const advertisements = BOXES.map((box) => new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise());
    for (const advertisement of advertisements.slice(0, 3)) aggregator.receive(advertisement);
    expect(aggregator.phaseComplete()).toBe(false);
    aggregator.receive(advertisements[3]!);
    expect(aggregator.phaseComplete()).toBe(true);
  });

  it('withholds a phase with fewer than t answers, and goes on with exactly t', async () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    const advertisements = BOXES.map((box) => new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise());
    for (const advertisement of advertisements.slice(0, 3)) aggregator.receive(advertisement);
    expect(await aggregator.closePhase()).toMatchObject({ type: 'roster', boxes: advertisements.slice(0, 3) });
    // The next phase expects the three of the roster: two answers are one fewer than t.
    for (const box of ['gate-1', 'gate-2']) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: '2 of 3 boxes answered phase "shares"; 3 needed; no answer from market-1' });
  });

  it('the masked inputs need max(t, minimumInputs): 3 of 4 is not enough when the noise needs 4', async () => {
    const { aggregator } = await afterRoster({ ...PARAMETERS, minimumInputs: 4 });
    for (const box of BOXES) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    expect(await aggregator.closePhase()).toEqual({ type: 'sharers', round: 'w-1', boxes: BOXES });
    for (const box of BOXES.slice(0, 3)) aggregator.receive({ type: 'masked', round: 'w-1', box, values: Buffer.alloc(16).toString('base64') });
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: '3 of 4 boxes answered phase "masked"; 4 needed; no answer from station-1' });
  });

  it('the other phases need t, even when the noise needs more inputs: 3 of 4 advertisements make a roster', async () => {
    const parameters = { ...PARAMETERS, minimumInputs: 4 };
    const aggregator = new SecureAggregationAggregator(parameters, 'w-1');
    const advertisements = BOXES.slice(0, 3).map((box) => new SecureAggregationBox(parameters, box, 'w-1').advertise());
    for (const advertisement of advertisements) aggregator.receive(advertisement);
    expect(await aggregator.closePhase()).toEqual({ type: 'roster', round: 'w-1', boxes: advertisements });
    for (const box of BOXES.slice(0, 3)) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    expect(await aggregator.closePhase()).toEqual({ type: 'sharers', round: 'w-1', boxes: BOXES.slice(0, 3) });
    // Every box of U2 answers, and still too few inputs for the noise: withheld, and the round is then never "complete".
    for (const box of BOXES.slice(0, 3)) aggregator.receive({ type: 'masked', round: 'w-1', box, values: Buffer.alloc(16).toString('base64') });
    expect(aggregator.phaseComplete()).toBe(true);
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: '3 of 3 boxes answered phase "masked"; 4 needed' });
    expect(aggregator.phaseComplete()).toBe(false);
  });

  it('lists the boxes of every set sorted by id, whatever order their answers came in', async () => {
    const reversed = [...BOXES].reverse();
    const inputs = new Map(reversed.map((box, index) => [box, [BigInt(index), 1n]]));
    // runRoundInMemory hands the aggregator each phase's answers in the order of `inputs`: here the reverse of sorted.
    const { roster, result } = await runRoundInMemory(PARAMETERS, 'w-order', inputs);
    expect(roster.boxes.map((entry) => entry.box)).toEqual(BOXES);
    // 0+1+2+3, 1·4
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-order', sum: ['6', '4'], boxes: BOXES });
  });

  it('withholds the sum when fewer than t boxes answer the unmasking', async () => {
    const { aggregator } = await afterRoster();
    for (const box of BOXES) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    await aggregator.closePhase();
    for (const box of BOXES) aggregator.receive({ type: 'masked', round: 'w-1', box, values: Buffer.alloc(16).toString('base64') });
    expect(await aggregator.closePhase()).toEqual({ type: 'survivors', round: 'w-1', boxes: BOXES });
    for (const box of ['gate-1', 'gate-2']) aggregator.receive({ type: 'unmask', round: 'w-1', box, maskKeyShares: [], selfMaskShares: [] });
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: '2 of 4 boxes answered phase "unmask"; 3 needed; no answer from market-1, station-1' });
  });
});

describe('a box kept out: its settings differ, or its vector has another length', () => {
  const SETTINGS_DIFFER = new Map([['gate-2', 'settings differ: epsilon']]);

  it('is neither expected nor waited for, and what it sends is refused with the reason', async () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1', SETTINGS_DIFFER);
    const advertise = (box: string) => new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise();
    expect(() => aggregator.receive(advertise('gate-2'))).toThrow(refusal('box "gate-2" is kept out of round "w-1": settings differ: epsilon'));
    for (const box of ['gate-1', 'market-1', 'station-1']) aggregator.receive(advertise(box));
    // Three answers are all the round now expects: the phase may close before its timeout.
    expect(aggregator.phaseComplete()).toBe(true);
    expect(await aggregator.closePhase()).toMatchObject({ type: 'roster', boxes: [{ box: 'gate-1' }, { box: 'market-1' }, { box: 'station-1' }] });
    expect(aggregator.keptOut()).toEqual([{ box: 'gate-2', reason: 'settings differ: epsilon' }]);
  });

  it('the others\' round is released exactly as if it had dropped out: the sum of theirs', async () => {
    const inputs = new Map([['gate-1', [1n, 10n]], ['market-1', [3n, 10n]], ['station-1', [4n, 10n]]]);
    const { result } = await runRoundInMemory(PARAMETERS, 'w-kept', inputs, { keptOut: SETTINGS_DIFFER });
    // 1+3+4, 10·3
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-kept', sum: ['8', '30'], boxes: ['gate-1', 'market-1', 'station-1'] });
  });

  it('a round withheld for want of boxes says which were kept out and why', async () => {
    const keptOut = new Map([['gate-2', 'settings differ: epsilon'], ['gate-1', 'settings differ: classes']]);
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1', keptOut);
    for (const box of ['market-1', 'station-1']) aggregator.receive(new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise());
    expect(await aggregator.closePhase()).toEqual({
      type: 'result',
      status: 'withheld',
      round: 'w-1',
      reason: '2 of 2 boxes answered phase "advertise"; 3 needed; kept out: gate-1 (settings differ: classes), gate-2 (settings differ: epsilon)',
    });
  });

  it('a box outside the district named as kept out changes nothing', () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1', new Map([['elsewhere-9', 'settings differ: epsilon']]));
    expect(aggregator.keptOut()).toEqual([]);
    for (const box of BOXES.slice(0, 3)) aggregator.receive(new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise());
    expect(aggregator.phaseComplete()).toBe(false);
  });

  it('a masked vector of another length keeps its box out from then on, named as a box whose settings differ would be', async () => {
    const { aggregator } = await afterRoster();
    for (const box of BOXES) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    await aggregator.closePhase();
    // The district's vector is 2 values (16 bytes); gate-2 lays out 3 (24 bytes), e.g. with three classes.
    expect(() => aggregator.receive({ type: 'masked', round: 'w-1', box: 'gate-2', values: Buffer.alloc(24).toString('base64') })).toThrow(refusal('box "gate-2": a masked vector of 2 values has 16 bytes, got 24'));
    expect(aggregator.keptOut()).toEqual([{ box: 'gate-2', reason: 'vector length differs: 3 values, the district\'s 2 (secureAggregation.classes)' }]);
    expect(() => aggregator.receive({ type: 'masked', round: 'w-1', box: 'gate-2', values: Buffer.alloc(16).toString('base64') })).toThrow(refusal('box "gate-2" is kept out of round "w-1": vector length differs: 3 values, the district\'s 2 (secureAggregation.classes)'));
    for (const box of ['gate-1', 'market-1', 'station-1']) aggregator.receive({ type: 'masked', round: 'w-1', box, values: Buffer.alloc(16).toString('base64') });
    // Its keys were shared already: to the unmasking it is a dropout (U2 \ U3), as any box whose input never came.
    expect(await aggregator.closePhase()).toEqual({ type: 'survivors', round: 'w-1', boxes: ['gate-1', 'market-1', 'station-1'] });
  });

  it('a vector that is no whole number of values is named by its bytes', async () => {
    const { aggregator } = await afterRoster();
    for (const box of BOXES) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    await aggregator.closePhase();
    expect(() => aggregator.receive({ type: 'masked', round: 'w-1', box: 'gate-1', values: Buffer.alloc(9).toString('base64') })).toThrow(SecureAggregationError);
    expect(aggregator.keptOut()).toEqual([{ box: 'gate-1', reason: 'vector length differs: 9 bytes, the district\'s 2 (secureAggregation.classes)' }]);
  });
});

describe('a box that does not answer is named', () => {
  it('in a withheld round\'s reason and as missing: the two-box district whose "junction" sat the round out', async () => {
    const parameters: SecureAggregationParameters = { district: 'old-town', boxes: ['junction', 'north'], threshold: 2, coordinates: 2, minimumInputs: 2 };
    const aggregator = new SecureAggregationAggregator(parameters, 'w-1');
    aggregator.receive(new SecureAggregationBox(parameters, 'north', 'w-1').advertise());
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: '1 of 2 boxes answered phase "advertise"; 2 needed; no answer from junction' });
    expect(aggregator.missing()).toEqual(['junction']);
  });

  it('as missing in a released round too, with the boxes kept out, from whichever phase it fell silent in', async () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1', new Map([['gate-2', 'settings differ: epsilon']]));
    for (const box of ['gate-1', 'market-1', 'station-1']) aggregator.receive(new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise());
    await aggregator.closePhase();
    for (const box of ['gate-1', 'market-1']) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    // Two sharers are one fewer than t = 3.
    expect(await aggregator.closePhase()).toMatchObject({ status: 'withheld', reason: '2 of 3 boxes answered phase "shares"; 3 needed; no answer from station-1; kept out: gate-2 (settings differ: epsilon)' });
    expect(aggregator.missing()).toEqual(['gate-2', 'station-1']);
  });
});

describe('two boxes advertising as one box id (a copied site.yaml)', () => {
  const advertise = (box: string) => new SecureAggregationBox(PARAMETERS, box, 'w-1').advertise();

  it('keeps that box out of the round at the second advertisement; the round no longer waits for it', async () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    for (const box of ['gate-1', 'gate-2', 'market-1']) aggregator.receive(advertise(box));
    const copy = advertise('gate-2');
    expect(() => aggregator.receive(copy)).toThrow(new CopiedBoxError('gate-2', 'w-1'));
    expect(() => aggregator.receive(copy)).toThrow(refusal('box "gate-2" is kept out of round "w-1": two boxes advertise as "gate-2"'));
    expect(aggregator.keptOut()).toEqual([{ box: 'gate-2', reason: 'two boxes advertise as "gate-2"' }]);
    aggregator.receive(advertise('station-1'));
    expect(aggregator.phaseComplete()).toBe(true);
    // Neither copy's keys reach the other boxes.
    expect(await aggregator.closePhase()).toMatchObject({ type: 'roster', boxes: [{ box: 'gate-1' }, { box: 'market-1' }, { box: 'station-1' }] });
    expect(aggregator.missing()).toEqual(['gate-2']);
  });

  it('the same advertisement twice (a redelivery) is one box: refused as answered already, not kept out', () => {
    const aggregator = new SecureAggregationAggregator(PARAMETERS, 'w-1');
    const once = advertise('gate-2');
    aggregator.receive(once);
    expect(() => aggregator.receive({ ...once })).toThrow(refusal('box "gate-2" already answered phase "advertise" of round "w-1"'));
    expect(aggregator.keptOut()).toEqual([]);
  });

  it('a copy heard after the roster makes the box a dropout: the others\' sum is released without its input', async () => {
    const inputs = new Map(BOXES.map((box, index) => [box, [BigInt(index + 1), 10n]]));
    const { result, boxErrors } = await runRoundInMemory(PARAMETERS, 'w-1', inputs, { copiedAfterRoster: ['gate-2'] });
    expect(boxErrors.get('gate-2')).toBeInstanceOf(CopiedBoxError);
    // gate-1, market-1, station-1: 1 + 3 + 4, and 10 each.
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-1', sum: ['8', '30'], boxes: ['gate-1', 'market-1', 'station-1'] });
  });

  it('a copy heard once its input is among the survivors withholds the round: that input cannot be taken out', async () => {
    const { aggregator } = await afterRoster();
    for (const box of BOXES) aggregator.receive({ type: 'shares', round: 'w-1', box, sealed: [] });
    await aggregator.closePhase();
    for (const box of BOXES) aggregator.receive({ type: 'masked', round: 'w-1', box, values: Buffer.alloc(16).toString('base64') });
    await aggregator.closePhase();
    expect(() => aggregator.receive(advertise('gate-2'))).toThrow(CopiedBoxError);
    for (const box of ['gate-1', 'market-1', 'station-1']) aggregator.receive({ type: 'unmask', round: 'w-1', box, maskKeyShares: [], selfMaskShares: [] });
    expect(aggregator.phaseComplete()).toBe(true);
    expect(await aggregator.closePhase()).toEqual({ type: 'result', status: 'withheld', round: 'w-1', reason: 'kept out after their input was masked in: gate-2 (two boxes advertise as "gate-2")' });
  });
});

describe('rebuilding a secret takes at least t shares of it', () => {
  const INPUTS = new Map(BOXES.map((box, index) => [box, [BigInt(index + 1), 10n]]));
  const withoutSelfMaskOf = (box: string, from: string[]) => (message: UnmaskMessage) =>
    from.includes(message.box) ? { ...message, selfMaskShares: message.selfMaskShares.filter((entry) => entry.box !== box) } : message;

  it('exactly t shares of a self-mask are enough: one box of four leaves its share out, the sum is released', async () => {
    const { result } = await runRoundInMemory(PARAMETERS, 'w-t', INPUTS, { alterUnmask: withoutSelfMaskOf('market-1', ['gate-1']) });
    // 1+2+3+4, 10·4
    expect(result).toEqual({ type: 'result', status: 'released', round: 'w-t', sum: ['10', '40'], boxes: BOXES });
  });

  it('t − 1 shares are not: the round is withheld, naming the box', async () => {
    const { result } = await runRoundInMemory(PARAMETERS, 'w-t1', INPUTS, { alterUnmask: withoutSelfMaskOf('market-1', ['gate-1', 'gate-2']) });
    expect(result).toEqual({
      type: 'result',
      status: 'withheld',
      round: 'w-t1',
      reason: 'the shares of box "market-1"\'s self-mask do not rebuild the seed it committed to: a share is missing or was altered',
    });
  });

  it('one share sent twice cannot be combined: the round is withheld, not thrown', async () => {
    const duplicate = (message: UnmaskMessage) =>
      message.box === 'gate-1' ? { ...message, selfMaskShares: [...message.selfMaskShares, ...message.selfMaskShares.filter((entry) => entry.box === 'gate-2')] } : message;
    const { result } = await runRoundInMemory(PARAMETERS, 'w-dup', INPUTS, { alterUnmask: duplicate });
    expect(result).toMatchObject({ status: 'withheld', reason: expect.stringContaining('box "gate-2"\'s self-mask do not rebuild') });
  });
});
