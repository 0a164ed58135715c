/**
 * File-system problems in words a person can act on. Node's own messages ("EACCES: permission denied, mkdir '/x'")
 * name a system call, not what Veil was doing or what to change; these name the setting (flag or config field), the
 * path and the fix.
 *
 *   prepareWritableDir('/var/lib/veil', 'stateDir (config site.yaml)');  // creates it, or throws a PathError
 *   assertClipFile('footage/', 'the clip');                              // a directory is not a clip
 */
import { accessSync, constants, mkdirSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { quote } from 'shell-quote';
import { grantCommand, processUser } from '../streams/processUser.ts';

/** Who runs Veil, for messages: the user name, or the uid when it has none. */
const runningUser = () => processUser().owner;

/** A path given by the user that Veil cannot use; the message says which setting, what is wrong and what to do. */
export class PathError extends Error {}

/** What an errno code means, in words; undefined for codes a person would not meet from Veil's file handling. */
const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted there',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENOENT: 'it does not exist',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory, not a file',
  EEXIST: 'something else already has that name',
  ELOOP: 'its symbolic links go round in a loop',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'the process has too many files open',
  EIO: 'the disk reported an input/output error',
};

/** Node's errno error, if `error` is one: it has a code like "EACCES" and names a system call. */
export function errnoOf(error: unknown): NodeJS.ErrnoException | undefined {
  const candidate = error as NodeJS.ErrnoException | undefined;
  return candidate instanceof Error && typeof candidate.code === 'string' && /^E[A-Z0-9]+$/.test(candidate.code) && typeof candidate.syscall === 'string' ? candidate : undefined;
}

/** "permission denied" for an EACCES error; for an unknown code, a neutral phrase that still carries no raw errno text. */
export function reasonInWords(error: NodeJS.ErrnoException): string {
  return REASONS[error.code ?? ''] ?? `the system refused it (${error.syscall ?? 'file operation'} failed)`;
}

/**
 * Any errno error that reached the command line, as one sentence with the path and a fix. The last resort: code that
 * knows which setting a path came from throws a PathError itself.
 */
export function describeFsError(error: NodeJS.ErrnoException): string {
  const target = error.path ? `${error.path}: ` : '';
  const fix: Record<string, string> = {
    EACCES: `give the user running Veil (${runningUser()}) access to it (ls -l shows its owner), or choose another path`,
    EPERM: `give the user running Veil (${runningUser()}) access to it, or choose another path`,
    EROFS: 'choose a path on a writable disk',
    ENOSPC: 'free some disk space, then run again',
    EDQUOT: 'free some disk space, then run again',
    ENOENT: 'check the path',
    ENOTDIR: 'check the path: one of its directories is a file',
    EISDIR: 'name a file, not a directory',
    EEXIST: 'move the thing in the way, or choose another path',
  };
  return `${target}${reasonInWords(error)}: ${fix[error.code ?? ''] ?? 'check the path and its permissions'}`;
}

/** The nearest part of `dir` (itself included) that exists, or undefined when none can be examined. */
function nearestExisting(dir: string): { at: string; isDirectory: boolean } | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      return { at, isDirectory: statSync(at).isDirectory() };
    } catch (error) {
      // ENOTDIR: a file further up; the walk reaches it and reports it.
      const code = errnoOf(error)?.code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
    }
    if (path.dirname(at) === at) return undefined;
  }
}

/**
 * Makes sure `dir` is a directory the process can write, creating it and its missing parents one level at a time
 * (Node's recursive mkdir never returns under /proc, where mkdir answers ENOENT under a parent that exists).
 * `setting` names where the path came from, e.g. "--out" or "stateDir (config site.yaml)". Returns the folders it
 * created, outermost first (for removeEmptyFolders when the run then fails). Throws PathError.
 */
export function prepareWritableDir(dir: string, setting: string): string[] {
  const absolute = path.resolve(dir);
  const existing = nearestExisting(absolute);
  if (existing && !existing.isDirectory) {
    throw new PathError(
      existing.at === absolute
        ? `${setting} ${dir} is a file, not a directory: name a directory (Veil creates it if it is missing)`
        : `${setting} ${dir} cannot be created: ${existing.at} is a file, not a directory. Choose another path.`,
    );
  }
  const missing: string[] = [];
  for (let at = absolute; at !== existing?.at && path.dirname(at) !== at; at = path.dirname(at)) missing.unshift(at);
  const created: string[] = [];
  for (const level of missing) {
    try {
      mkdirSync(level);
      created.push(level);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno?.code === 'EEXIST' && statSync(level).isDirectory()) continue;
      if (!errno) throw error;
      // mkdir's ENOENT under a parent that exists: a file system such as /proc that takes no new directories.
      const reason = errno.code === 'ENOENT' ? 'the file system there takes no new directories' : reasonInWords(errno);
      // Refused by the folder above (its owner or mode), not by the disk: say whose folder and how to make it.
      const refusedAbove = errno.code === 'EACCES' || errno.code === 'EPERM';
      const fix = refusedAbove
        ? `the user running Veil (${runningUser()}) may not create folders in ${path.dirname(level)}: create ${absolute} yourself and give it to that user ` +
          `(e.g. sudo mkdir -p ${quote([absolute])} && sudo ${grantCommand(absolute, { folder: true }).command}), or choose another directory`
        : `choose a directory on a writable disk, or create it yourself and let the user running Veil (${runningUser()}) write to it`;
      throw new PathError(`${setting} ${dir} cannot be created (${reason} at ${level}): ${fix}`);
    }
  }
  try {
    accessSync(absolute, constants.W_OK | constants.X_OK);
  } catch (error) {
    const errno = errnoOf(error);
    if (!errno) throw error;
    const grant = grantCommand(absolute, { folder: true });
    const fix = grant.ownedAlready ? `that user owns it already, and its permissions refuse it: allow it (e.g. ${grant.command})` : `give that user the directory (e.g. sudo ${grant.command})`;
    throw new PathError(`${setting} ${dir} is not writable by the user running Veil (${runningUser()}; ${reasonInWords(errno)}): ${fix} or choose another directory`);
  }
  return created;
}

/**
 * After a failed run: removes the folders it created (from prepareWritableDir, in the order made) that are still
 * empty, innermost first, so a mistake leaves no empty `--out` behind. rmdir(2) removes only an empty folder, so
 * one that holds anything (a ledger, a report) stays, and so does its parent; a folder the run did not create is
 * never touched. Failures are ignored: the run's own error is what the user needs to see.
 */
export function removeEmptyFolders(created: readonly string[]): void {
  for (const folder of [...created].reverse()) {
    try {
      rmdirSync(folder);
    } catch {
      // Not empty, or gone, or not ours to remove any more: leave it.
    }
  }
}

/** A local clip must be a readable file: a directory or an unreadable file is refused here, naming it. Throws PathError. */
export function assertClipFile(file: string, setting: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch (error) {
    const errno = errnoOf(error);
    if (!errno) throw error;
    throw new PathError(`${setting} ${file} cannot be read (${reasonInWords(errno)}): check the path`);
  }
  if (isDirectory) throw new PathError(`${setting} ${file} is a directory, not a video file: name one clip inside it, e.g. ${path.join(file, 'clip.mp4')}`);
  try {
    accessSync(file, constants.R_OK);
  } catch (error) {
    const errno = errnoOf(error);
    if (!errno) throw error;
    throw new PathError(`${setting} ${file} cannot be read by the user running Veil (${runningUser()}; ${reasonInWords(errno)}): give that user read access (chmod o+r, or chown)`);
  }
}
