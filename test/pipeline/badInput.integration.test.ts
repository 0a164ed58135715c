/**
 * Bad input as a new user gives it, across `veil batch`, `veil eval` and `veil run`: each case runs the real CLI in
 * its own process and must end with a non-zero exit, a message that matches what the case expects (the setting at
 * fault and its fix), no stack trace and no raw errno text ("EISDIR: illegal operation…"). Every case fails before
 * the detector loads, so the table stays cheap; live cameras that fail at run time are the last test.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { killTrackedChildren } from '../helpers/liveChildren.ts';
import { cameraHealth, fetchHealth } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig } from '../helpers/liveVeil.ts';
import { eventually, withinSeconds } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { createSandbox, runVeil, STACK_FRAME_LINE, type Sandbox } from '../helpers/veilCli.ts';

/** Node's errno codes and its "<syscall> '<path>'" tail: what a user must never be left to decode. */
const RAW_ERRNO = /\bE(?:ACCES|ISDIR|EXIST|NOENT|NOTDIR|PERM|ROFS|NOSPC|LOOP|INVAL|BADF|MFILE)\b|, (?:open|mkdir|stat|lstat|read|scandir|access) '/;
/** Cases run a few at a time: each is a Node process compiling Veil's source. */
const CONCURRENCY = 3;
/** Long enough for one CLI start beside other test files on a 2-core machine. */
const CASE_TIMEOUT_MS = 60_000;

interface BadInput {
  name: string;
  /** The CLI arguments; `$IN` is replaced by the sandbox's inputs folder. */
  args: string[];
  /** What the message must say: the setting at fault and the fix. */
  says: RegExp;
  /** Run as an unprivileged user (nobody), for permission cases a root test process cannot otherwise meet. */
  asNobody?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The exit code the case must end with, where it is pinned (cli.ts: 1 the work failed, 2 a usage, config or setup mistake). */
  exits?: number;
}

const square = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]];
const bowTie = [[0.2, 0.2], [0.6, 0.2], [0.2, 0.6], [0.6, 0.6]];
const sliver = [[0.2, 0.5], [0.7, 0.5], [0.7, 0.5001], [0.2, 0.5001]];
const onOneLine = [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]];
const camera = (extra: Record<string, unknown> = {}) => ({ id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, ...extra });

/** Config files the cases name, written into the inputs folder: name → content (YAML unless a string is given). */
const FILES: Record<string, unknown> = {
  'bow-tie.yaml': { zones: [{ name: 'plaza', polygon: bowTie }] },
  'sliver.yaml': { zones: [{ name: 'kerb', polygon: sliver }] },
  'on-one-line.yaml': { zones: [{ name: 'path', polygon: onOneLine }] },
  'out-of-frame.yaml': { zones: [{ name: 'plaza', polygon: [[0.2, 0.2], [1.6, 0.2], [0.6, 0.6]] }] },
  'twice.yaml': { zones: [{ name: 'plaza', polygon: square }, { name: 'plaza', polygon: square }] },
  'bad-line.yaml': { lines: [{ name: 'gate', from: [0.1, 0.5], to: [2, 0.5] }] },
  'unknown-key.yaml': { windowSecs: 60 },
  'site-keys-in-batch.yaml': { retentionDays: 30, stallSeconds: 20, fps: 2 },
  'city-key-in-batch.yaml': { districts: [] },
  'a-list.yaml': [1, 2, 3],
  'not-yaml.yaml': 'zones: [unclosed\n',
  'bad-privacy.yaml': { privacy: { epsilon: -2 } },
  'labels-not-json.json': '{ "lines": [',
  'labels-bad.json': { clip: 'x.mp4', lines: [{ name: 'gate' }] },
  'site-proc.yaml': { stateDir: '/proc/veil-nope', feed: { port: 0 }, cameras: [camera()] },
  'site-state-is-file.yaml': { stateDir: 'a-file', feed: { port: 0 }, cameras: [camera()] },
  'site-state-under-file.yaml': { stateDir: 'a-file/state', feed: { port: 0 }, cameras: [camera()] },
  'site-state-locked.yaml': { stateDir: 'locked', feed: { port: 0 }, cameras: [camera()] },
  'site-ok.yaml': { stateDir: 'open/state-ok', feed: { port: 0 }, cameras: [camera()] },
  'site-no-cameras.yaml': { stateDir: 'open/s1', cameras: [] },
  'site-same-id.yaml': { stateDir: 'open/s2', cameras: [camera(), camera()] },
  'site-bow-tie.yaml': { stateDir: 'open/s3', cameras: [camera({ zones: [{ name: 'plaza', polygon: bowTie }] })] },
  'site-sliver.yaml': { stateDir: 'open/s4', cameras: [camera({ zones: [{ name: 'kerb', polygon: sliver }] })] },
  'site-bad-id.yaml': { stateDir: 'open/s5', cameras: [camera({ id: 'north gate!' })] },
  'site-calibration.yaml': { stateDir: 'open/s6', cameras: [camera({ privacy: { epsilon: 'off' } })] },
  'site-bad-source.yaml': { stateDir: 'open/s7', cameras: [{ id: 'yard', source: { smb: '//nas/cam' } }] },
  'site-bad-log.yaml': { stateDir: 'open/s8', logFormat: 'xml', cameras: [camera()] },
  'site-bad-port.yaml': { stateDir: 'open/s9', feed: { port: 99999 }, cameras: [camera()] },
  'site-bad-token-env.yaml': { stateDir: 'open/s10', feed: { tokenEnv: 'lower-case' }, cameras: [camera()] },
  'site-bad-fps.yaml': { stateDir: 'open/s11', cameras: [camera({ fps: 0 })] },
  'site-bad-backoff.yaml': { stateDir: 'open/s12', cameras: [camera({ backoff: { initialSeconds: -1 } })] },
  'site-bad-origin.yaml': { stateDir: 'open/s13', feed: { allowedOrigins: ['not a url'] }, cameras: [camera()] },
  'site-misplaced-keys.yaml': { stateDir: 'open/s14', fps: 2, cameras: [camera({ retentionDays: 30 })] },
  'city-site-keys.yaml': { broker: { url: 'mqtt://127.0.0.1:1' }, stateDir: 'open/city', cameras: [], fps: 5 },
  'site-ledger-folder.yaml': { stateDir: 'open/ledger-folder', feed: { port: 0 }, cameras: [camera()] },
};

const clipFix = /directory, not a video file: name one clip inside it/;
const BATCH: BadInput[] = [
  { name: 'a directory as the clip', args: ['batch', '$IN/a-dir'], says: clipFix },
  { name: 'a missing clip', args: ['batch', '$IN/missing.mp4'], says: /clip not found: .*missing\.mp4\. Check the path/ },
  { name: '--out naming a file', args: ['batch', '--out', '$IN/a-file'], says: /--out .*a-file is a file, not a directory: name a directory/ },
  { name: '--out under a file', args: ['batch', '--out', '$IN/a-file/report'], says: /--out .*cannot be created: .*a-file is a file, not a directory\. Choose another path/ },
  { name: '--out in /proc', args: ['batch', '--out', '/proc/veil-nope'], says: /--out \/proc\/veil-nope cannot be created .*choose a directory on a writable disk/ },
  { name: '--out not writable', args: ['batch', '--out', '$IN/locked', '--state-dir', '$IN/open/batch-state'], says: /--out .*locked is not writable by the user running Veil .*chown/, asNobody: true },
  { name: '--state-dir naming a file', args: ['batch', '--out', '$IN/open/r1', '--state-dir', '$IN/a-file'], says: /--state-dir .*a-file is a file, not a directory/ },
  { name: '--state-dir in /proc', args: ['batch', '--out', '$IN/open/r2', '--state-dir', '/proc/veil-nope'], says: /--state-dir \/proc\/veil-nope cannot be created/ },
  { name: '--state-dir not writable', args: ['batch', '--out', '$IN/open/r3', '--state-dir', '$IN/locked'], says: /--state-dir .*locked is not writable by the user running Veil .*chown/, asNobody: true },
  { name: '--state-dir to be made in a folder of root', args: ['batch', '--out', '$IN/open/r5', '--state-dir', '$IN/locked/veil'], says: /--state-dir .*locked\/veil cannot be created \(permission denied at .*locked\/veil\): the user running Veil \(nobody\) may not create folders in .*locked: create .*locked\/veil yourself and give it to that user \(e\.g\. sudo mkdir -p .*locked\/veil && sudo chown -R nobody .*locked\/veil\), or choose another directory/, asNobody: true },
  { name: '--state-dir under a file', args: ['batch', '--out', '$IN/open/r4', '--state-dir', '$IN/a-file/state'], says: /--state-dir .*cannot be created: .*a-file is a file/ },
  { name: 'a folder where the ledger file belongs', args: ['batch', '--out', '$IN/open/r6', '--state-dir', '$IN/open/ledger-folder', '--new-ledger'], says: /--state-dir .*ledger-folder: cannot open the privacy ledger at .*privacy-ledger: that is a folder, not a ledger file\. .*move that folder aside/, exits: 2 },
  { name: 'a ledger file Veil may not write', args: ['batch', '--out', '$IN/open/r7', '--state-dir', '$IN/open/ledger-of-root'], says: /--state-dir .*ledger-of-root: cannot open the privacy ledger at .*: this process \(.*nobody\) may not read and write the ledger file\. .*chown/, asNobody: true, exits: 2 },
  // Not setup: the ledger is there and may be used, but what it holds is unknown, so the run fails (exit 1).
  { name: 'a ledger file that is no ledger', args: ['batch', '--out', '$IN/open/r9', '--state-dir', '$IN/open/ledger-foreign'], says: /the privacy ledger at .*ledger-foreign\/privacy-ledger is unreadable: .*restore the ledger/, exits: 1 },
  { name: 'no ledger and no --new-ledger', args: ['batch', '--out', '$IN/open/r8', '--state-dir', '$IN/open/no-ledger'], says: /--state-dir .*no-ledger: no privacy ledger at .*start with --new-ledger/, exits: 2 },
  { name: '--fps not a number', args: ['batch', '--fps', 'fast'], says: /--fps fast: expected frames per second/ },
  { name: '--fps 0', args: ['batch', '--fps', '0'], says: /fps is the number of frames analysed per second/ },
  { name: '--fps 100', args: ['batch', '--fps', '100'], says: /more than 30 frames\/s adds nothing/ },
  { name: '--window negative', args: ['batch', '--window=-5'], says: /window length is in seconds and must be positive/ },
  { name: 'a negative value without "="', args: ['batch', '--window', '-5'], says: /use '--window=-XYZ'.*veil batch --help/s },
  { name: '--score 2', args: ['batch', '--score', '2'], says: /scoreThreshold/ },
  { name: '--score 0.05', args: ['batch', '--score', '0.05'], says: /score threshold must be at least 0\.15/ },
  { name: '--classes dog', args: ['batch', '--classes', 'dog'], says: /classes\[0\].*dog/ },
  { name: '--max-width 10', args: ['batch', '--max-width', '10'], says: /maxWidth is a width in pixels, at least 160/ },
  { name: '--backend unknown', args: ['batch', '--backend', 'gpu9'], says: /--backend gpu9: expected one of auto/ },
  { name: '--workers 0', args: ['batch', '--workers', '0'], says: /detector\.workers/ },
  { name: '--workers many', args: ['batch', '--workers', 'many'], says: /--workers many: expected "auto" or a number/ },
  { name: '--start negative', args: ['batch', '--start=-3'], says: /--start -3: expected seconds from the start of the clip, 0 or more/ },
  { name: '--duration 0', args: ['batch', '--duration', '0'], says: /--duration 0: expected a positive number of seconds/ },
  { name: '--epsilon negative', args: ['batch', '--epsilon', '-1'], says: /epsilon/i },
  { name: '--epsilon a word', args: ['batch', '--epsilon', 'lots'], says: /--epsilon lots: expected a positive number/ },
  { name: '--mechanism unknown', args: ['batch', '--mechanism', 'gaussian'], says: /--mechanism gaussian: expected one of discrete-laplace, discrete-gaussian/ },
  { name: '--rho a word', args: ['batch', '--rho', 'long'], says: /--rho long: expected seconds/ },
  { name: '--log-format xml', args: ['batch', '--log-format', 'xml'], says: /--log-format xml: expected one of text, json/ },
  { name: 'an unknown flag', args: ['batch', '--output', 'x'], says: /Unknown option '--output'.*veil batch --help/ },
  { name: 'two clips', args: ['batch', 'a.mp4', 'b.mp4'], says: /one clip at a time, got 2/ },
  { name: '--config missing', args: ['batch', '--config', '$IN/nope.yaml'], says: /config file .*nope\.yaml could not be read \(no such file\)/ },
  { name: '--config a directory', args: ['batch', '--config', '$IN/a-dir'], says: /config file .*a-dir could not be read \(it is a directory, not a file/ },
  { name: '--config not YAML', args: ['batch', '--config', '$IN/not-yaml.yaml'], says: /not-yaml\.yaml is not valid YAML/ },
  { name: '--config a list', args: ['batch', '--config', '$IN/a-list.yaml'], says: /must hold an object of settings/ },
  { name: '--config with a bow-tie zone', args: ['batch', '--config', '$IN/bow-tie.yaml'], says: /zones\[0\]\.polygon: zone "plaza" crosses itself.*List the corners in order/ },
  { name: '--config with a sliver zone', args: ['batch', '--config', '$IN/sliver.yaml'], says: /zones\[0\]\.polygon: zone "kerb" has no area/ },
  { name: '--config with a zone on one line', args: ['batch', '--config', '$IN/on-one-line.yaml'], says: /zone "path" has no area.*lie on one line/ },
  { name: '--config with a point outside the frame', args: ['batch', '--config', '$IN/out-of-frame.yaml'], says: /zones\[0\]\.polygon\[1\]\[0\]: coordinates are normalised: use 0–1/ },
  { name: '--config with two zones of one name', args: ['batch', '--config', '$IN/twice.yaml'], says: /two zones are named "plaza": give each a unique name/ },
  { name: '--config with a line off the frame', args: ['batch', '--config', '$IN/bad-line.yaml'], says: /lines\[0\]/ },
  { name: '--config with an unknown key', args: ['batch', '--config', '$IN/unknown-key.yaml'], says: /windowSecs/ },
  { name: "--config with site.yaml's retentionDays and a camera's stallSeconds", args: ['batch', '--config', '$IN/site-keys-in-batch.yaml'], says: /retentionDays: belongs to veil run's site config \(site\.yaml.*\) and to veil aggregate's city config \(city\.yaml\), not to the clip config of veil batch.*remove it here\n.*stallSeconds: belongs to a camera of veil run's site config \(site\.yaml, under cameras:\)/, exits: 2 },
  { name: '--config with a negative ε', args: ['batch', '--config', '$IN/bad-privacy.yaml'], says: /epsilon/i },
  { name: '--ffmpeg missing', args: ['batch', '--out', '$IN/open/r5', '--state-dir', '$IN/open/s-ff', '--ffmpeg', '$IN/no-ffmpeg'], says: /no-ffmpeg/ },
];

const EVAL: BadInput[] = [
  { name: 'no --labels', args: ['eval', 'clip.mp4'], says: /--labels FILE is required: the hand counts/ },
  { name: '--labels missing', args: ['eval', '--labels', '$IN/none.json'], says: /none\.json/ },
  { name: '--labels not JSON', args: ['eval', '--labels', '$IN/labels-not-json.json'], says: /labels-not-json\.json/ },
  { name: '--labels a directory', args: ['eval', '--labels', '$IN/a-dir'], says: /a-dir.*(directory|not a file)/ },
  { name: '--labels breaking the format', args: ['eval', '--labels', '$IN/labels-bad.json'], says: /labels-bad\.json/ },
  { name: 'a directory as the clip', args: ['eval', '--labels', '$IN/ok-labels.json', '$IN/a-dir'], says: clipFix },
  { name: 'a missing clip', args: ['eval', '--labels', '$IN/ok-labels.json', '$IN/gone.mp4'], says: /clip not found: .*gone\.mp4/ },
  { name: '--fps not a number', args: ['eval', '--labels', '$IN/ok-labels.json', '--fps', 'x'], says: /--fps x: expected frames per second/ },
  { name: '--start negative', args: ['eval', '--labels', '$IN/ok-labels.json', '--start=-1'], says: /--start -1: expected seconds/ },
  { name: '--config with a bow-tie zone', args: ['eval', '--labels', '$IN/ok-labels.json', '--config', '$IN/bow-tie.yaml'], says: /zone "plaza" crosses itself/ },
  { name: '--config a directory', args: ['eval', '--labels', '$IN/ok-labels.json', '--config', '$IN/a-dir'], says: /could not be read \(it is a directory/ },
  { name: "--config with city.yaml's districts", args: ['eval', '--labels', '$IN/ok-labels.json', '--config', '$IN/city-key-in-batch.yaml'], says: /districts: belongs to veil aggregate's city config \(city\.yaml\), not to the clip config of veil batch and veil eval/, exits: 2 },
  { name: 'an unknown flag', args: ['eval', '--labels', '$IN/ok-labels.json', '--out', 'x'], says: /Unknown option '--out'.*veil eval --help/ },
];

const token = { VEIL_FEED_TOKEN: FEED_TOKEN };
const site = (name: string, says: RegExp, extra: Partial<BadInput> = {}): BadInput => ({ name, args: ['run', '--config', `$IN/${name}.yaml`, '--new-ledger'], says, env: token, ...extra });
const RUN: BadInput[] = [
  { name: 'no --config', args: ['run'], says: /--config FILE is required/, env: token },
  { name: '--config missing', args: ['run', '--config', '$IN/nope.yaml'], says: /config file .*nope\.yaml could not be read \(no such file\)/, env: token },
  { name: '--config a directory', args: ['run', '--config', '$IN/a-dir'], says: /could not be read \(it is a directory/, env: token },
  site('site-proc', /stateDir \(config .*\) \/proc\/veil-nope cannot be created .*choose a directory on a writable disk/),
  site('site-state-is-file', /stateDir \(config .*\) .*a-file is a file, not a directory: name a directory/),
  site('site-state-under-file', /stateDir .*cannot be created: .*a-file is a file, not a directory/),
  site('site-state-locked', /stateDir .*locked is not writable by the user running Veil .*chown/, { asNobody: true }),
  { name: 'no feed token', args: ['run', '--config', '$IN/site-ok.yaml', '--new-ledger'], says: /the feed token is not set: set the environment variable VEIL_FEED_TOKEN/ },
  { name: 'a short feed token', args: ['run', '--config', '$IN/site-ok.yaml', '--new-ledger'], says: /the feed token is too short/, env: { VEIL_FEED_TOKEN: 'short' } },
  { name: '--port 70000', args: ['run', '--config', '$IN/site-ok.yaml', '--port', '70000'], says: /--port 70000: expected a port number 0–65535/, env: token },
  { name: '--port a word', args: ['run', '--config', '$IN/site-ok.yaml', '--port', 'http'], says: /--port http: expected a port number/, env: token },
  { name: '--log-format xml', args: ['run', '--config', '$IN/site-ok.yaml', '--log-format', 'xml'], says: /--log-format xml: expected one of text, json/, env: token },
  { name: 'no ledger and no --new-ledger', args: ['run', '--config', '$IN/site-ok.yaml'], says: /stateDir \(config .*site-ok\.yaml\) .*: no privacy ledger at .*--new-ledger/, env: token, exits: 2 },
  site('site-no-cameras', /list at least one camera under `cameras:`/),
  site('site-same-id', /camera id "yard" is used twice/),
  site('site-bow-tie', /cameras\[0\]\.zones\[0\]\.polygon: zone "plaza" crosses itself/),
  site('site-sliver', /cameras\[0\]\.zones\[0\]\.polygon: zone "kerb" has no area/),
  site('site-bad-id', /a camera id is 1–64 letters/),
  site('site-calibration', /epsilon is "off": calibration output must never be published/),
  site('site-bad-source', /cameras\[0\]\.source/),
  site('site-bad-log', /logFormat/),
  site('site-bad-port', /feed\.port/),
  site('site-bad-token-env', /an environment variable name, e\.g\. VEIL_FEED_TOKEN/),
  site('site-bad-fps', /fps is the number of frames analysed per second/),
  site('site-bad-backoff', /backoff\.initialSeconds/),
  site('site-bad-origin', /an origin is a URL like https:\/\/ops\.example\.org/),
  site('site-misplaced-keys', /cameras\[0\]\.retentionDays: belongs to the top level of veil run's site config.*\n.*fps: belongs to each camera \(under cameras:/, { exits: 2 }),
  { name: "veil aggregate: city.yaml with site.yaml's cameras and a camera's fps", args: ['aggregate', '--config', '$IN/city-site-keys.yaml'], says: /cameras: belongs to veil run's site config \(site\.yaml, top level\), not to veil aggregate's city config.*\n.*fps: belongs to a camera of veil run's site config/, exits: 2 },
  site('site-ledger-folder', /stateDir \(config .*\) .*ledger-folder: cannot open the privacy ledger at .*: that is a folder, not a ledger file/, { exits: 2 }),
];

const CASES = [...BATCH, ...EVAL, ...RUN];

let sandbox: Sandbox;
/** Runs a command as nobody when the tests run as root (root passes every permission check). */
let nobodyWrapper: string[] | undefined;

beforeAll(async () => {
  sandbox = await createSandbox();
  const inputs = sandbox.inputs;
  await mkdir(path.join(inputs, 'a-dir'));
  await writeFile(path.join(inputs, 'a-file'), 'not a directory\n');
  await mkdir(path.join(inputs, 'open'));
  await mkdir(path.join(inputs, 'locked'));
  for (const [name, content] of Object.entries(FILES)) {
    await writeFile(path.join(inputs, name), typeof content === 'string' ? content : name.endsWith('.json') ? JSON.stringify(content) : stringify(content));
  }
  await writeFile(path.join(inputs, 'ok-labels.json'), JSON.stringify({ clip: FOOTAGE.overpass, frames: [{ t: 1, vehicle: 1 }] }));
  // Permission cases: a folder nobody may write, inside a sandbox nobody may otherwise use.
  nobodyWrapper = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : undefined;
  for (const dir of [sandbox.root, sandbox.cwd, inputs, sandbox.home, sandbox.stateHome, sandbox.tmp]) await chmod(dir, 0o755);
  for (const dir of [path.join(inputs, 'open'), sandbox.cwd, sandbox.tmp]) await chmod(dir, 0o777);
  await chmod(path.join(inputs, 'locked'), 0o555);
  // Ledger cases: a folder where the ledger file belongs, a ledger file only its owner (root) may write, a foreign file.
  await mkdir(path.join(inputs, 'open', 'ledger-folder', 'privacy-ledger'), { recursive: true });
  await mkdir(path.join(inputs, 'open', 'ledger-of-root'), { mode: 0o777 });
  await chmod(path.join(inputs, 'open', 'ledger-of-root'), 0o777);
  await writeFile(path.join(inputs, 'open', 'ledger-of-root', 'privacy-ledger'), '', { mode: 0o644 });
  await mkdir(path.join(inputs, 'open', 'ledger-foreign'));
  await writeFile(path.join(inputs, 'open', 'ledger-foreign', 'privacy-ledger'), 'a shopping list, not a ledger\n');
});

afterAll(async () => {
  await killTrackedChildren();
  await sandbox.remove();
});

describe('bad input gets a message naming the fix: no stack trace, no raw errno', () => {
  it(`covers at least 60 cases across batch, eval and run (${CASES.length} here)`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    for (const command of ['batch', 'eval', 'run']) expect(CASES.filter((c) => c.args[0] === command).length).toBeGreaterThanOrEqual(10);
  });

  it('every case', async () => {
    const failures: string[] = [];
    const queue = [...CASES];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const args = next.args.map((arg) => arg.replaceAll('$IN', sandbox.inputs));
        // The tsx cache is allowed here (the sandbox turns it off to list what veil writes): these runs list nothing.
        const run = await runVeil(args, sandbox, { env: { TSX_DISABLE_CACHE: undefined, ...next.env }, wrapper: next.asNobody ? nobodyWrapper : undefined });
        const problems = [
          run.exitCode === 0 && 'exit code 0',
          next.exits !== undefined && run.exitCode !== next.exits && `exit code ${run.exitCode}, not ${next.exits}`,
          !next.says.test(run.stderr) && `message does not match ${next.says}`,
          STACK_FRAME_LINE.test(run.stderr) && 'a stack trace',
          RAW_ERRNO.test(run.stderr) && 'raw errno text',
          /detector ready|detector:/.test(run.stderr) && 'the detector loaded (the case is not cheap)',
        ].filter(Boolean);
        if (problems.length > 0) failures.push(`veil ${next.args.join(' ')} (${next.name}): ${problems.join(', ')}\n    stderr: ${run.stderr.trim().split('\n').join('\n            ')}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures.join('\n')).toBe('');
  }, CASES.length * CASE_TIMEOUT_MS / CONCURRENCY);
});

describe('veil run with file cameras that cannot work', () => {
  it('marks a missing file and a file that is not a video `failed` after their retries, and /healthz answers 503', async () => {
    const notVideo = path.join(sandbox.inputs, 'notes.mp4');
    await writeFile(notVideo, 'these are notes, not a video\n');
    const configFile = await writeSiteConfig(sandbox.inputs, 'site-broken-files.yaml', {
      stateDir: path.join(sandbox.inputs, 'open', 'state-broken'),
      detector: { workers: 1 },
      feed: { port: 0 },
      cameras: [
        { id: 'missing', source: { file: path.join(sandbox.inputs, 'gone.mp4'), loop: true }, backoff: { initialSeconds: 0.2, maxSeconds: 0.5 } },
        { id: 'notes', source: { file: notVideo, loop: true }, backoff: { initialSeconds: 0.2, maxSeconds: 0.5 } },
      ],
    });
    const veil = startVeilRun(configFile, { home: sandbox.home, newLedger: true });
    const baseUrl = await veil.listening(90);
    const answer = await eventually('/healthz: both cameras failed', 60, async () => {
      const health = await fetchHealth(baseUrl, FEED_TOKEN);
      return health.health.cameras.every((c) => c.state === 'failed') && health.health.cameras.length === 2 && health;
    });
    expect(answer.httpStatus).toBe(503);
    expect(answer.health.status).toBe('failed');
    expect(cameraHealth(answer.health, 'missing').lastError).toMatch(/gave up after 3 consecutive failures: .*gone\.mp4/);
    expect(cameraHealth(answer.health, 'notes').lastError).toMatch(/gave up after 3 consecutive failures: .*notes\.mp4/);
    for (const camera of answer.health.cameras) expect(camera.lastError).not.toMatch(RAW_ERRNO);
    veil.child.signal('SIGTERM');
    expect(await withinSeconds('veil to stop', 10, veil.child.exited)).toEqual({ code: 0, signal: null });
  }, 180_000);
});

describe('veil run stopped by a setup mistake', () => {
  it('leaves no new ledger behind when the MQTT password variable is unset, so the same command works once it is set', async () => {
    const stateDir = path.join(sandbox.inputs, 'open', 'state-mqtt-no-password');
    const configFile = await writeSiteConfig(sandbox.inputs, 'site-mqtt-no-password.yaml', {
      stateDir,
      feed: { port: 0 },
      mqtt: { site: 'north', url: 'mqtt://127.0.0.1:1', username: 'box', passwordEnv: 'VEIL_TEST_MQTT_PASSWORD' },
      cameras: [camera()],
    });
    const run = await runVeil(['run', '--config', configFile, '--new-ledger'], sandbox, { env: { ...token, TSX_DISABLE_CACHE: undefined } });
    expect(run.stderr).toMatch(/mqtt\.passwordEnv: the environment variable VEIL_TEST_MQTT_PASSWORD is not set/);
    expect(run.exitCode).toBe(2);
    expect(existsSync(path.join(stateDir, 'privacy-ledger'))).toBe(false);
  }, CASE_TIMEOUT_MS);
});
