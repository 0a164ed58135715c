import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertClipFile, describeFsError, errnoOf, PathError, prepareWritableDir, removeEmptyFolders } from '../../pipeline/fsProblems.ts';

const RAW_ERRNO = /\bE[A-Z]{3,}\b/;
const scratch = () => mkdtempSync(path.join(os.tmpdir(), 'veil-fs-'));

describe('prepareWritableDir', () => {
  it('creates a missing directory and its missing parents', () => {
    const root = scratch();
    const dir = path.join(root, 'a', 'b', 'c');
    expect(prepareWritableDir(dir, '--out')).toEqual([path.join(root, 'a'), path.join(root, 'a', 'b'), dir]);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(prepareWritableDir(dir, '--out')).toEqual([]);
  });

  it('refuses a file, and a path under a file, naming the setting and the file', () => {
    const file = path.join(scratch(), 'report');
    writeFileSync(file, 'x');
    expect(() => prepareWritableDir(file, '--out')).toThrow(new PathError(`--out ${file} is a file, not a directory: name a directory (Veil creates it if it is missing)`));
    expect(() => prepareWritableDir(path.join(file, 'sub', 'dir'), '--state-dir')).toThrow(`--state-dir ${path.join(file, 'sub', 'dir')} cannot be created: ${file} is a file, not a directory. Choose another path.`);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('after a failure, removes the folders it created that are empty, and no others', () => {
    const root = scratch();
    const created = prepareWritableDir(path.join(root, 'a', 'b', 'c'), '--out');
    writeFileSync(path.join(root, 'a', 'kept.txt'), 'x');
    removeEmptyFolders(created);
    // a/b/c and a/b were made and left empty; a was made but holds a file; root was there before.
    expect(readdirSync(root)).toEqual(['a']);
    expect(readdirSync(path.join(root, 'a'))).toEqual(['kept.txt']);
  });

  it.runIf(existsSync('/proc/self'))('answers at once for /proc, where Node’s recursive mkdir never returns', () => {
    expect(() => prepareWritableDir('/proc/veil-nope/state', 'stateDir (config site.yaml)')).toThrow(/^stateDir \(config site\.yaml\) \/proc\/veil-nope\/state cannot be created \(the file system there takes no new directories at \/proc\/veil-nope\)/);
  });
});

describe('plain words for file-system errors', () => {
  it('describes a caught errno error with its path and a fix, without the raw code', () => {
    const dir = scratch();
    let caught: unknown;
    try {
      openSync(dir, 'w');
    } catch (error) {
      caught = error;
    }
    const errno = errnoOf(caught);
    expect(errno?.code).toBe('EISDIR');
    expect(describeFsError(errno!)).toBe(`${dir}: it is a directory, not a file: name a file, not a directory`);
    expect(describeFsError(errno!)).not.toMatch(RAW_ERRNO);
    expect(errnoOf(new Error('not a system error'))).toBeUndefined();
  });

  it('refuses a directory as a clip and suggests a file inside it', () => {
    const dir = scratch();
    mkdirSync(path.join(dir, 'footage'));
    expect(() => assertClipFile(path.join(dir, 'footage'), 'the clip')).toThrow(`the clip ${path.join(dir, 'footage')} is a directory, not a video file: name one clip inside it, e.g. ${path.join(dir, 'footage', 'clip.mp4')}`);
    expect(() => assertClipFile(path.join(dir, 'gone.mp4'), 'the clip')).toThrow(/cannot be read \(it does not exist\): check the path/);
  });
});
