/**
 * A ledger this process may not read or write, in one process: the advice names the part refused (the file, or the
 * folder that must take the -wal and -shm files), the user to give it to, and never a new ledger.
 *
 * Root reads and writes any file, so run as root this file gives up root for its own process (vitest runs it in a
 * child process of its own: the forks pool, also under Stryker, see vitest.mutation.config.ts): first only the
 * effective uid, for a moment (SQLite then opens the ledger read-only while access(2), which checks the real uid,
 * sees nothing wrong), then for good, as "nobody", where the folders' modes refuse it just as they refuse anyone
 * who is not root. Every folder is made by the test under the system's temporary folder, with its mode set.
 */
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../../stages/privacy/ledger.ts';
import { createEmptyLedger, ledgerPath, open, scratchDirectory, useScratchLedger } from './ledgerScratch.ts';

useScratchLedger();

const root = process.geteuid?.() === 0;
/** A uid with no entry in /etc/passwd, so it has no user name. */
const NAMELESS_UID = 54321;
const NOBODY_UID = 65534;

/** The login names /etc/passwd gives to each uid. */
function passwdNames(): Map<number, string> {
  const entries = readFileSync('/etc/passwd', 'utf8').split('\n').filter((line) => line.includes(':'));
  return new Map(entries.map((line) => [Number(line.split(':')[2]), line.split(':')[0]!]));
}

/** The message of the error `action` throws. */
function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the ledger to be refused, and it opened');
}

/**
 * The whole advice for a ledger this process may not use, from the user story: what, who, and what to do: `fix`,
 * one of the two below.
 */
function permissionAdvice(path: string, described: string, what: string, fix: string): string {
  return `cannot open the privacy ledger at ${path}: this process (${described}) may not read and write ${what}. The ledger and the spending it records are kept as they are: ${fix}, then start Veil again.`;
}

/** Someone else owns what was refused: give the folder to this user. */
const chownFix = (owner: string, folder: string) => `give the user Veil runs as ownership of the folder and the ledger files, e.g. \`chown -R ${owner} ${folder}\``;
/** This user owns it already, and only its mode refuses it: a chown would change nothing. */
const chmodFix = (command: string) => `that user owns it already, and its permissions refuse it: allow it, e.g. \`${command}\``;

const folderWhat = (folder: string) => `the folder ${folder}, which must hold the ledger's -wal and -shm files`;

afterEach(() => {
  // Open the scratch folder again so that its owner can remove it (useScratchLedger's cleanup runs after this).
  for (const folder of [scratchDirectory(), join(scratchDirectory(), 'state')]) {
    try {
      chmodSync(folder, 0o755);
    } catch {
      // A test that made no state folder.
    }
  }
});

describe('a ledger SQLite may only write in part while access(2) sees no problem', () => {
  /** Opens the ledger with effective uid NAMELESS_UID (its real uid stays root, which access(2) checks). */
  function openAsNameless(fileMode: number, folderMode: number): string {
    expect(passwdNames().has(NAMELESS_UID)).toBe(false);
    createEmptyLedger();
    chmodSync(scratchDirectory(), 0o755);
    chmodSync(join(scratchDirectory(), 'state'), folderMode);
    chmodSync(ledgerPath, fileMode);
    process.seteuid!(NAMELESS_UID);
    try {
      return messageOf(() => open());
    } finally {
      process.seteuid!(0);
    }
  }
  const nameless = `uid ${NAMELESS_UID}, which has no user name`;

  it.runIf(root)('a file it may only read, in a folder it may write: SQLite opens it read-only without an error, and a spend could never be recorded (root only: needs an effective uid apart from the real one)', () => {
    const message = openAsNameless(0o644, 0o777);
    expect(message).toBe(permissionAdvice(ledgerPath, nameless, 'the ledger file', chownFix(String(NAMELESS_UID), join(scratchDirectory(), 'state'))));
  });

  it.runIf(root)('a folder it may not write: SQLite cannot make the -wal and -shm files, and the folder is named (root only: as above)', () => {
    const state = join(scratchDirectory(), 'state');
    const message = openAsNameless(0o666, 0o755);
    expect(message).toBe(permissionAdvice(ledgerPath, nameless, folderWhat(state), chownFix(String(NAMELESS_UID), state)));
  });
});

describe('a ledger whose modes refuse this process', () => {
  let user: string;
  beforeAll(() => {
    if (root) {
      // For good: this file's own process, which vitest ends after it.
      process.setgroups!([NOBODY_UID]);
      process.setgid!(NOBODY_UID);
      process.setuid!(NOBODY_UID);
      user = passwdNames().get(NOBODY_UID)!;
    } else {
      user = userInfo().username;
    }
    expect(process.geteuid?.()).not.toBe(0);
  });

  it('a ledger file of its own that it may only read: names the file and the user, and says to allow it (a chown would change nothing)', () => {
    createEmptyLedger();
    chmodSync(ledgerPath, 0o444);
    expect(messageOf(() => open())).toBe(permissionAdvice(ledgerPath, `user ${user}`, 'the ledger file', chmodFix(`chmod u+rw ${ledgerPath}`)));
  });

  it('a folder it may not write: names the folder that must take the -wal and -shm files', () => {
    createEmptyLedger();
    const state = join(scratchDirectory(), 'state');
    chmodSync(ledgerPath, 0o666);
    chmodSync(state, 0o555);
    expect(messageOf(() => open())).toBe(permissionAdvice(ledgerPath, `user ${user}`, folderWhat(state), chmodFix(`chmod u+rwx ${state}`)));
  });

  it('a folder it may not enter, where the ledger looks missing: permissions first, never "start a new ledger"', () => {
    createEmptyLedger();
    const state = join(scratchDirectory(), 'state');
    chmodSync(ledgerPath, 0o666);
    chmodSync(state, 0o000);
    const advice = permissionAdvice(ledgerPath, `user ${user}`, folderWhat(state), chmodFix(`chmod u+rwx ${state}`));
    expect(messageOf(() => open(false))).toBe(advice);
    expect(messageOf(() => open(true))).toBe(advice);
  });

  it('a new ledger under folders still to be made: names the nearest folder that exists, where they would be made', () => {
    const state = join(scratchDirectory(), 'state');
    mkdirSync(state, { mode: 0o555 });
    const deeper = join(state, 'veil', 'camera-room', 'privacy-ledger');
    expect(messageOf(() => openLedger(deeper, { createIfMissing: true }))).toBe(permissionAdvice(deeper, `user ${user}`, folderWhat(state), chmodFix(`chmod u+rwx ${state}`)));
    expect(dirname(dirname(dirname(deeper)))).toBe(state);
  });
});
