/**
 * Who this process runs as, and the command that gives it a file or folder it was refused: advice in error messages
 * must name the right user and be a command that works when pasted into a shell.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import { quote } from 'shell-quote';

export interface ProcessUser {
  /** In prose: `user veil`, or `uid 54321, which has no user name`. */
  described: string;
  /** As `chown` takes it: the name, or the number itself when the uid has none (some containers, systemd's DynamicUser). */
  owner: string;
}

/** The user of this process's effective uid, the one the kernel checks file access by. */
export function processUser(): ProcessUser {
  try {
    const name = os.userInfo().username;
    return { described: `user ${name}`, owner: name };
  } catch {
    const uid = String(process.geteuid?.() ?? 'unknown');
    return { described: `uid ${uid}, which has no user name`, owner: uid };
  }
}

export interface Grant {
  /** The command, e.g. `chown -R veil /var/lib/veil` or `chmod u+rw '/var/lib/my state/privacy-ledger'`. */
  command: string;
  /** True when this user owns what was refused already, so that only its mode stands in the way. */
  ownedAlready: boolean;
}

/**
 * A shell command that lets this process read and write `refused` (write into it and enter it, for a folder):
 * `chmod u+rw` / `u+rwx` on `refused` when this user owns it already (a `chown` would change nothing); otherwise
 * `chown -R OWNER` on `grantTarget` (default `refused`; e.g. the folder that holds a refused file). Paths and the
 * owner are shell-quoted (`'my state'`).
 */
export function grantCommand(refused: string, { folder, grantTarget = refused }: { folder: boolean; grantTarget?: string }): Grant {
  const euid = process.geteuid?.();
  const ownerUid = statSync(refused, { throwIfNoEntry: false })?.uid;
  if (euid !== undefined && ownerUid === euid) return { command: `chmod u+${folder ? 'rwx' : 'rw'} ${quote([refused])}`, ownedAlready: true };
  return { command: `chown -R ${quote([processUser().owner])} ${quote([grantTarget])}`, ownedAlready: false };
}
