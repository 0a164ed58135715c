import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { grantCommand, processUser } from '../../streams/processUser.ts';

const root = process.geteuid?.() === 0;
let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('processUser', () => {
  it('names the user this process runs as, in prose and as chown takes it', () => {
    const name = userInfo().username;
    expect(processUser()).toEqual({ described: `user ${name}`, owner: name });
  });
});

describe('grantCommand', () => {
  it('says chmod when this user owns what was refused already (a chown would change nothing), quoting a path with a space', () => {
    scratch = mkdtempSync(join(tmpdir(), 'veil-grant-'));
    const file = join(scratch, 'my state', 'privacy-ledger');
    const folder = join(scratch, 'my state');
    // Made by this process, so owned by this user.
    expect(grantCommand(scratch, { folder: true })).toEqual({ command: `chmod u+rwx ${scratch}`, ownedAlready: true });
    mkdirSync(folder);
    writeFileSync(file, '');
    expect(grantCommand(file, { folder: false })).toEqual({ command: `chmod u+rw '${file}'`, ownedAlready: true });
  });

  it("says chown -R to this user on the folder to give when someone else owns what was refused", () => {
    scratch = mkdtempSync(join(tmpdir(), 'veil-grant-'));
    const folder = join(scratch, 'my state');
    let refused = '/etc/passwd';
    if (root) {
      // Root owns /etc/passwd itself: make a file owned by another uid instead.
      refused = join(scratch, 'theirs');
      writeFileSync(refused, '');
      chownSync(refused, 54321, 54321);
    }
    expect(grantCommand(refused, { folder: false, grantTarget: folder })).toEqual({ command: `chown -R ${userInfo().username} '${folder}'`, ownedAlready: false });
  });
});
