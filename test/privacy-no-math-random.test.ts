/**
 * Math.random is neither cryptographic nor exact; no privacy code may use it. "Privacy code" is everything the
 * releaser, the ledger, the privacy settings and secure aggregation (its noise shares and masks) run: the modules
 * themselves and every project file they import, found by following relative imports, so a helper added later is
 * covered without editing this list.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const ENTRY_POINTS = ['stages/release.ts', 'stages/privacy/ledger.ts', 'stages/privacy/settings.ts', 'stages/privacy/distributedNoise.ts', 'stages/privacy/secureAggregationBox.ts', 'stages/privacy/secureAggregationAggregator.ts', 'stages/privacy/secureAggregationContribution.ts'];
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+\.ts)['"]/g;

function privacyModules(): Map<string, string> {
  const sources = new Map<string, string>();
  const pending = ENTRY_POINTS.map((entry) => resolve(REPOSITORY, entry));
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (sources.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    sources.set(file, source);
    for (const match of source.matchAll(RELATIVE_IMPORT)) pending.push(resolve(dirname(file), match[1]!));
  }
  return sources;
}

describe('privacy code randomness', () => {
  const modules = privacyModules();

  it('follows the imports to every privacy module', () => {
    const names = [...modules.keys()].map((file) => relative(REPOSITORY, file));
    expect(names).toEqual(expect.arrayContaining(['stages/privacy/noise.ts', 'stages/privacy/sensitivity.ts', 'stages/privacy/noiseScale.ts', 'stages/privacy/rational.ts', 'stages/privacy/privacyLoss.ts']));
  });

  it('never calls Math.random', () => {
    const offenders = [...modules].filter(([, source]) => /Math\s*\.\s*random|Math\s*\[\s*['"]random/.test(source)).map(([file]) => relative(REPOSITORY, file));
    expect(offenders).toEqual([]);
  });

  it('samples noise with integers and node:crypto only: no floating-point maths in the samplers', () => {
    const noise = modules.get(resolve(REPOSITORY, 'stages/privacy/noise.ts'))!;
    expect(noise).not.toMatch(/\bMath\s*\./);
    expect(noise).toMatch(/from 'node:crypto'/);
  });
});
