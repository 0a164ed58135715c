/**
 * Secure aggregation's parameters and message schemas: what a district config may say, and the exact edges of what
 * a message may carry (ids, base64, list lengths, decimal sums), each written out here from the module's rules.
 */
import { describe, expect, it } from 'vitest';
import { aggregatorMessageSchema, boxMessageSchema, checkMembership, checkParameters, SecureAggregationError, secureAggregationRoundId, type SecureAggregationParameters } from '../../../stages/privacy/secureAggregationMessages.ts';

const PARAMETERS: SecureAggregationParameters = { district: 'centre', boxes: ['gate-2', 'gate-1', 'market-1', 'station-1'], threshold: 3, coordinates: 2, minimumInputs: 3 };
const WHERE = 'secure aggregation of district "centre"';
const ID_RULE = '1–64 letters, digits, "_", "-" or "."';

/** `count` distinct box ids. */
const boxIds = (count: number) => Array.from({ length: count }, (_, index) => `box-${index}`);

describe('checkParameters', () => {
  it('returns the parameters with the boxes sorted', () => {
    expect(checkParameters(PARAMETERS)).toEqual({ ...PARAMETERS, boxes: ['gate-1', 'gate-2', 'market-1', 'station-1'] });
  });

  it('refuses a district id outside the MQTT id rule, in words', () => {
    expect(() => checkParameters({ ...PARAMETERS, district: 'city centre' })).toThrow(new Error(`secure aggregation of district "city centre": the district id must be ${ID_RULE}`));
  });

  it('refuses a box listed twice, too few or too many boxes (2–255: one Shamir share each), a box id outside the rule', () => {
    expect(() => checkParameters({ ...PARAMETERS, boxes: ['gate-1', 'gate-2', 'gate-1'] })).toThrow(new Error(`${WHERE}: a box is listed twice in boxes`));
    expect(() => checkParameters({ ...PARAMETERS, boxes: ['gate-1'], threshold: 1, minimumInputs: 1 })).toThrow(new Error(`${WHERE}: boxes must list 2–255 boxes, got 1`));
    expect(() => checkParameters({ ...PARAMETERS, boxes: boxIds(256), threshold: 129, minimumInputs: 1 })).toThrow(new Error(`${WHERE}: boxes must list 2–255 boxes, got 256`));
    expect(checkParameters({ ...PARAMETERS, boxes: boxIds(255), threshold: 128, minimumInputs: 1 }).boxes).toHaveLength(255);
    expect(checkParameters({ ...PARAMETERS, boxes: ['a', 'b'], threshold: 2, minimumInputs: 2 }).boxes).toEqual(['a', 'b']);
    expect(() => checkParameters({ ...PARAMETERS, boxes: ['gate-1', 'gate 2', 'market-1'] })).toThrow(new Error(`${WHERE}: box id "gate 2" must be ${ID_RULE}`));
  });

  it('takes a threshold from ⌊n/2⌋ + 1 to n, whole', () => {
    const five = { ...PARAMETERS, boxes: boxIds(5), minimumInputs: 1 };
    const refusal = (threshold: number) => new Error(`${WHERE}: threshold must be a whole number from 3 (more than half the boxes) to 5 (all of them), got ${threshold}`);
    for (const threshold of [2, 6, 3.5]) expect(() => checkParameters({ ...five, threshold })).toThrow(refusal(threshold));
    for (const threshold of [3, 4, 5]) expect(checkParameters({ ...five, threshold }).threshold).toBe(threshold);
    // Four boxes: ⌊4/2⌋ + 1 = 3; two boxes: 2 (both).
    expect(() => checkParameters({ ...PARAMETERS, threshold: 2 })).toThrow(/from 3 \(more than half the boxes\) to 4 \(all of them\), got 2$/);
    expect(() => checkParameters({ ...PARAMETERS, boxes: ['a', 'b'], threshold: 1, minimumInputs: 1 })).toThrow(/from 2 \(more than half the boxes\) to 2 \(all of them\), got 1$/);
  });

  it('takes a positive whole number of coordinates, and minimumInputs from 1 to the number of boxes', () => {
    for (const coordinates of [0, 1.5]) expect(() => checkParameters({ ...PARAMETERS, coordinates })).toThrow(new Error(`${WHERE}: coordinates must be a positive whole number, got ${coordinates}`));
    expect(checkParameters({ ...PARAMETERS, coordinates: 1 }).coordinates).toBe(1);
    for (const minimumInputs of [0, 5, 2.5]) expect(() => checkParameters({ ...PARAMETERS, minimumInputs })).toThrow(new Error(`${WHERE}: minimumInputs must be from 1 to the number of boxes (4), got ${minimumInputs}`));
    for (const minimumInputs of [1, 4]) expect(checkParameters({ ...PARAMETERS, minimumInputs }).minimumInputs).toBe(minimumInputs);
  });
});

describe('round ids and membership', () => {
  it('names a round statistic-start-length, the start in whole Unix seconds', () => {
    expect(secureAggregationRoundId('crossings', 1_764_460_800.9, 900)).toBe('crossings-1764460800-900');
    expect(() => secureAggregationRoundId('mean occupancy', 0, 900)).toThrow(new Error(`round id "mean occupancy-0-900" is not ${ID_RULE}`));
  });

  it('refuses a box that is not one of the district\'s, listing them', () => {
    expect(() => checkMembership(PARAMETERS, 'gate-9')).toThrow(new Error('box "gate-9" is not one of district "centre"\'s boxes (gate-2, gate-1, market-1, station-1)'));
    expect(() => checkMembership(PARAMETERS, 'gate-1')).not.toThrow();
  });
});

describe('message schemas', () => {
  const key = Buffer.alloc(32, 1).toString('base64');
  const advertise = { type: 'advertise', round: 'w-1', box: 'gate-1', shareKey: key, maskKey: key, selfMaskCommitment: key };
  const accepts = (schema: typeof boxMessageSchema | typeof aggregatorMessageSchema, message: unknown) => schema.safeParse(message).success;

  it('accepts each message of the protocol as the module documents it', () => {
    expect(accepts(boxMessageSchema, advertise)).toBe(true);
    expect(accepts(boxMessageSchema, { type: 'shares', round: 'w-1', box: 'gate-1', sealed: [{ to: 'gate-2', ciphertext: key }] })).toBe(true);
    expect(accepts(boxMessageSchema, { type: 'masked', round: 'w-1', box: 'gate-1', values: key })).toBe(true);
    expect(accepts(boxMessageSchema, { type: 'unmask', round: 'w-1', box: 'gate-1', maskKeyShares: [{ box: 'gate-2', share: key }], selfMaskShares: [] })).toBe(true);
    expect(accepts(aggregatorMessageSchema, { type: 'roster', round: 'w-1', boxes: [advertise] })).toBe(true);
    expect(accepts(aggregatorMessageSchema, { type: 'sharers', round: 'w-1', boxes: ['gate-1'] })).toBe(true);
    expect(accepts(aggregatorMessageSchema, { type: 'survivors', round: 'w-1', boxes: ['gate-1'] })).toBe(true);
    expect(accepts(aggregatorMessageSchema, { type: 'result', status: 'released', round: 'w-1', sum: ['-12', '0'], boxes: ['gate-1'] })).toBe(true);
    expect(accepts(aggregatorMessageSchema, { type: 'result', status: 'withheld', round: 'w-1', reason: 'r'.repeat(500) })).toBe(true);
  });

  it('refuses an extra key at every level, and a message of the other side', () => {
    expect(accepts(boxMessageSchema, { ...advertise, camera: 'gate-1' })).toBe(false);
    expect(accepts(boxMessageSchema, { type: 'shares', round: 'w-1', box: 'gate-1', sealed: [{ to: 'gate-2', ciphertext: key, note: '' }] })).toBe(false);
    expect(accepts(boxMessageSchema, { type: 'unmask', round: 'w-1', box: 'gate-1', maskKeyShares: [{ box: 'gate-2', share: key, x: 1 }], selfMaskShares: [] })).toBe(false);
    expect(accepts(aggregatorMessageSchema, { type: 'roster', round: 'w-1', boxes: [{ ...advertise, extra: true }] })).toBe(false);
    expect(accepts(aggregatorMessageSchema, { type: 'result', status: 'released', round: 'w-1', sum: ['1'], boxes: [], frames: 3 })).toBe(false);
    expect(accepts(aggregatorMessageSchema, advertise)).toBe(false);
  });

  it('ids: 1–64 of letters, digits, "_", "-", "." and nothing around them', () => {
    const withBox = (box: string) => accepts(boxMessageSchema, { ...advertise, box });
    for (const box of ['a', 'x'.repeat(64), 'Gate_1.a-b']) expect(withBox(box)).toBe(true);
    for (const box of ['', 'x'.repeat(65), 'gate/1', 'gate 1', '+gate', 'gate#']) expect(withBox(box)).toBe(false);
  });

  it('base64: its alphabet, at most two "=", at most 2^20 characters', () => {
    const withValues = (values: string) => accepts(boxMessageSchema, { type: 'masked', round: 'w-1', box: 'gate-1', values });
    for (const values of ['', 'AB+/', 'AA==', 'A'.repeat(1 << 20)]) expect(withValues(values)).toBe(true);
    for (const values of ['AA===', 'A-B_', 'AA==AA', ' AAA', 'A'.repeat((1 << 20) + 1)]) expect(withValues(values)).toBe(false);
  });

  it('lists of boxes, keys, sealed shares and shares: at most 255 (one Shamir share per box)', () => {
    const ids = boxIds(256);
    const share = (box: string) => ({ box, share: key });
    const lists: Array<[(count: number) => unknown, typeof boxMessageSchema | typeof aggregatorMessageSchema]> = [
      [(count) => ({ type: 'sharers', round: 'w-1', boxes: ids.slice(0, count) }), aggregatorMessageSchema],
      [(count) => ({ type: 'survivors', round: 'w-1', boxes: ids.slice(0, count) }), aggregatorMessageSchema],
      [(count) => ({ type: 'result', status: 'released', round: 'w-1', sum: ['1'], boxes: ids.slice(0, count) }), aggregatorMessageSchema],
      [(count) => ({ type: 'roster', round: 'w-1', boxes: ids.slice(0, count).map((box) => ({ ...advertise, box })) }), aggregatorMessageSchema],
      [(count) => ({ type: 'shares', round: 'w-1', box: 'gate-1', sealed: ids.slice(0, count).map((to) => ({ to, ciphertext: key })) }), boxMessageSchema],
      [(count) => ({ type: 'unmask', round: 'w-1', box: 'gate-1', maskKeyShares: ids.slice(0, count).map(share), selfMaskShares: [] }), boxMessageSchema],
      [(count) => ({ type: 'unmask', round: 'w-1', box: 'gate-1', maskKeyShares: [], selfMaskShares: ids.slice(0, count).map(share) }), boxMessageSchema],
    ];
    for (const [message, schema] of lists) {
      expect(accepts(schema, message(255))).toBe(true);
      expect(accepts(schema, message(256))).toBe(false);
    }
  });

  it('a released sum: decimal integers of 1–20 digits, a minus sign allowed; a withheld reason: at most 500 characters', () => {
    const withSum = (value: string) => accepts(aggregatorMessageSchema, { type: 'result', status: 'released', round: 'w-1', sum: [value], boxes: [] });
    for (const value of ['0', '-1', '9'.repeat(20), `-${'9'.repeat(20)}`]) expect(withSum(value)).toBe(true);
    for (const value of ['', '-', '1.5', '1e3', '9'.repeat(21), '+1', ' 1', '1 ']) expect(withSum(value)).toBe(false);
    expect(accepts(aggregatorMessageSchema, { type: 'result', status: 'withheld', round: 'w-1', reason: 'r'.repeat(501) })).toBe(false);
  });

  it('says which rule a refused id or base64 field broke, and names its errors', () => {
    const idIssue = boxMessageSchema.safeParse({ ...advertise, box: 'gate 1' }).error?.issues;
    expect(idIssue).toEqual([expect.objectContaining({ path: ['box'], message: `an id is ${ID_RULE}` })]);
    const base64Issue = boxMessageSchema.safeParse({ ...advertise, maskKey: 'not base64!' }).error?.issues;
    expect(base64Issue).toEqual([expect.objectContaining({ path: ['maskKey'], message: 'base64' })]);
    expect(new SecureAggregationError('a rule broken').name).toBe('SecureAggregationError');
  });
});
