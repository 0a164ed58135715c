/** The ledger across kill -9: a child process releases windows and is killed at the worst moments. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ledgerPath, open, opened, policy, useScratchLedger } from './ledgerFixture.ts';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../../fixtures/privacyReleaseChild.ts', import.meta.url));

useScratchLedger();

interface ChildRun {
  lines: Array<{ window: number; status: 'released' | 'withheld' }>;
  signal: NodeJS.Signals | null;
}

/** Runs the release fixture; with killAfterLines, SIGKILLs it as soon as that many windows were printed. */
function runChild(args: string[], killAfterLines?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ledgerPath, ...args], { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: ChildRun['lines'] = [];
    let pending = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) lines.push(JSON.parse(line) as ChildRun['lines'][number]);
      if (killAfterLines !== undefined && lines.length >= killAfterLines) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`release fixture failed (exit ${code}):\n${errors}`));
      else resolve({ lines, signal });
    });
  });
}

const released = (run: ChildRun) => run.lines.filter((line) => line.status === 'released').length;

describe('durability across kill -9', () => {
  it('never forgets a published window when the process is killed mid-stream', async () => {
    open(true);
    opened.pop()!.close();
    const killed = await runChild(['1000', '2000'], 25);
    expect(killed.signal).toBe('SIGKILL');
    const published = released(killed);
    expect(published).toBeGreaterThanOrEqual(25);
    // Everything published is on disk (the window being released at the kill may be too: spent, never shown).
    const spent = open().spentInPeriod('gate', 60, policy(2000n)).epsilonSpent;
    expect(spent).toBeGreaterThanOrEqual(published);
    expect(spent).toBeLessThanOrEqual(published + 1);
  });

  it('counts a window spent but never published, and a restart does not reset the budget', async () => {
    open(true);
    opened.pop()!.close();
    // Budget 5 at ε = 1: window 2 is spent, then the process dies before publishing it.
    const crashed = await runChild(['5', '5', '2']);
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.lines).toEqual([
      { window: 0, status: 'released' },
      { window: 1, status: 'released' },
    ]);
    expect(open().spentInPeriod('gate', 60, policy(5n)).epsilonSpent).toBe(3);
    opened.pop()!.close();

    // The restarted process replays the clip: only the 2 ε left can go out, the rest is withheld.
    const restarted = await runChild(['5', '5']);
    expect(restarted.lines.map((line) => line.status)).toEqual(['released', 'released', 'withheld', 'withheld', 'withheld']);
    expect(open().spentInPeriod('gate', 60, policy(5n)).epsilonSpent).toBe(5);
  });

  it('never lets a killed-and-restarted run release more than the budget', async () => {
    open(true);
    opened.pop()!.close();
    const first = await runChild(['30', '10'], 4);
    const second = await runChild(['30', '10']);
    expect(second.signal).toBeNull();
    expect(released(first) + released(second)).toBeLessThanOrEqual(10);
    expect(open().spentInPeriod('gate', 60, policy(10n)).epsilonSpent).toBe(10);
  });
});
