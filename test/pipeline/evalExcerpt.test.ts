/**
 * `veil eval` on an excerpt: labelled crossings and visits are whole-clip totals with no times (docs/eval.md), so an
 * excerpt that leaves out part of the clip cannot be judged against them. Expected spans are worked by hand from the
 * flags: start = --start or 0, end = start + --duration, capped at the clip's length.
 */
import { describe, expect, it } from 'vitest';
import { compareLines, excerptNotComparable, partialExcerpt } from '../../pipeline/evalCommand.ts';
import { labelsSchema } from '../../pipeline/labels.ts';

describe('partialExcerpt', () => {
  it('is nothing when the whole clip is analysed, with or without a --duration that reaches its end', () => {
    expect(partialExcerpt(28.33, {})).toBeUndefined();
    expect(partialExcerpt(28.33, { startSeconds: 0, durationSeconds: 30 })).toBeUndefined();
    expect(partialExcerpt(undefined, {})).toBeUndefined();
  });

  it('is the analysed span when --duration ends before the clip, or --start begins after its start', () => {
    expect(partialExcerpt(28.33, { durationSeconds: 20 })).toEqual({ startSeconds: 0, endSeconds: 20, clipSeconds: 28.33 });
    // 5 + 60 = 65, past the end: the span stops at 28.33.
    expect(partialExcerpt(28.33, { startSeconds: 5, durationSeconds: 60 })).toEqual({ startSeconds: 5, endSeconds: 28.33, clipSeconds: 28.33 });
    // A stream of unknown length: a --duration might stop anywhere before its end.
    expect(partialExcerpt(undefined, { durationSeconds: 20 })).toEqual({ startSeconds: 0, endSeconds: 20, clipSeconds: undefined });
  });

  it('says why, with the span the labels count and the one analysed', () => {
    expect(excerptNotComparable({ startSeconds: 0, endSeconds: 20, clipSeconds: 28.33 })).toBe(
      'not comparable: the labels count the whole clip (28.3 s), the excerpt is 20 s (0–20 s); run without --start and --duration to compare',
    );
    expect(excerptNotComparable({ startSeconds: 5, endSeconds: Infinity, clipSeconds: undefined })).toBe(
      'not comparable: the labels count the whole clip, the excerpt starts at 5 s; run without --start and --duration to compare',
    );
  });
});

describe('compareLines on an excerpt', () => {
  const labels = labelsSchema.parse({ lines: [{ name: 'gate', from: [0, 0.5], to: [1, 0.5], crossings: { vehicle: 27 }, tolerance: 2 }] });

  it('marks every line not comparable rather than judging 0 against 27', () => {
    const [whole] = compareLines(labels, []);
    expect(whole).toMatchObject({ counted: 0, expected: 27, withinTolerance: false });
    expect(whole!.notComparable).toBeUndefined();
    const [part] = compareLines(labels, [], { startSeconds: 0, endSeconds: 2, clipSeconds: 28.33 });
    expect(part!.notComparable).toMatch(/^not comparable: the labels count the whole clip \(28\.3 s\), the excerpt is 2 s/);
  });
});
