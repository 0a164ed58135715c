import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../pipeline/liveCamera.ts';
import { contributingCameras } from '../../pipeline/districtCameras.ts';
import { readSiteConfig } from '../../pipeline/siteConfig.ts';
import { liveInput } from '../../streams/cameraSource.ts';

async function siteFile(yaml: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'veil-site-'));
  const file = path.join(dir, 'site.yaml');
  await writeFile(file, yaml);
  return file;
}

describe('site config', () => {
  it('fills defaults and resolves relative paths against the config file', async () => {
    const file = await siteFile('stateDir: state\ncameras:\n  - id: demo\n    source: { file: demo.mp4, loop: true }\n');
    const site = await readSiteConfig(file);
    expect(site.stateDir).toBe(path.join(path.dirname(file), 'state'));
    const [camera] = site.cameras;
    expect(camera).toMatchObject({ id: 'demo', fps: 5, queueFrames: 2, source: { file: path.join(path.dirname(file), 'demo.mp4'), loop: true } });
    expect(site.feed).toMatchObject({ host: '127.0.0.1', tokenEnv: 'VEIL_FEED_TOKEN' });
  });

  it('reads a camera\'s drift block with its defaults, its baseline relative to the config file, and names a bad share', async () => {
    const file = await siteFile('cameras:\n  - id: demo\n    source: { file: demo.mp4 }\n    drift: { share: 0.2, baseline: baselines/demo.json }\n');
    const [camera] = (await readSiteConfig(file)).cameras;
    expect(camera!.drift).toEqual({ share: 0.2, windowSeconds: 3600, threshold: 0.25, minTracks: 1000, baseline: path.join(path.dirname(file), 'baselines/demo.json'), baselineSeconds: 86_400 });
    const bad = await siteFile('cameras:\n  - id: demo\n    source: { file: demo.mp4 }\n    drift: { share: 1 }\n');
    await expect(readSiteConfig(bad)).rejects.toThrow('cameras[0].drift.share: drift.share must be below 1: the counts need some of ε (got 1)');
    const unknown = await siteFile('cameras:\n  - id: demo\n    source: { file: demo.mp4 }\n    drift: { share: 0.2, treshold: 0.3 }\n');
    await expect(readSiteConfig(unknown)).rejects.toThrow('cameras[0].drift.treshold: unknown setting: did you mean cameras[0].drift.threshold?');
    // Nothing the drift block accepts looks like it: the spelling is all there is to check.
    const foreign = await siteFile('cameras:\n  - id: demo\n    source: { file: demo.mp4 }\n    drift: { share: 0.2, colour: red }\n');
    await expect(readSiteConfig(foreign)).rejects.toThrow(/cameras\[0\]\.drift\.colour: unknown setting: check its spelling$/m);
    // A required setting left out reads as missing, not as zod's "expected number, received undefined".
    const noId = await siteFile('cameras:\n  - source: { file: demo.mp4 }\n');
    await expect(readSiteConfig(noId)).rejects.toThrow(/cameras\[0\]\.id: missing: this setting is required \(string\)$/m);
  });

  it('gives a file camera 3 attempts and a network camera retries for ever, unless the config says otherwise', async () => {
    const file = await siteFile(
      'cameras:\n  - id: demo\n    source: { file: demo.mp4 }\n  - id: gate\n    source: { http: "http://10.0.0.30/mjpeg" }\n  - id: patient\n    source: { file: demo.mp4 }\n    giveUpAfterFailures: 50\n',
    );
    const site = await readSiteConfig(file);
    expect(site.cameras.map((camera) => camera.giveUpAfterFailures)).toEqual([3, undefined, 50]);
    expect(site.feed.cameraDownAfterSeconds).toBe(60);
  });

  it('names the path in the file, the value and the fix for each bad setting', async () => {
    const file = await siteFile(
      'cameras:\n  - id: a\n    source: { rtsp: "http://not-rtsp" }\n    zones: [{ name: z, polygon: [[0, 0], [1.5, 0]] }]\n  - id: a\n    source: { file: x.mp4 }\n',
    );
    const error = await readSiteConfig(file).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(error).toContain(file);
    expect(error).toMatch(/cameras\[0\]\.source\.rtsp: an RTSP source is a URL starting rtsp:\/\/ .*\(got "http:\/\/not-rtsp"\)/);
    expect(error).toMatch(/cameras\[0\]\.zones\[0\]\.polygon\[1\]\[0\]: coordinates are normalised.*\(got 1\.5\)/);
    expect(error).toMatch(/cameras\[0\]\.zones\[0\]\.polygon: a zone polygon needs at least 3 points/);
    expect(error).toMatch(/cameras\[1\]\.id: camera id "a" is used twice/);
  });
});

describe('the mqtt section', () => {
  it('is optional, and when present takes the site id and resolves TLS files against the config file', async () => {
    expect((await readSiteConfig(await siteFile('cameras:\n  - id: demo\n    source: { file: demo.mp4 }\n'))).mqtt).toBeUndefined();
    const file = await siteFile(
      'cameras:\n  - id: demo\n    source: { file: demo.mp4 }\nmqtt:\n  site: north-7\n  url: mqtts://broker.city.example:8883\n  username: box-7\n  passwordEnv: VEIL_MQTT_PASSWORD\n  tls: { ca: certs/ca.pem, cert: /etc/veil/box.pem, key: /etc/veil/box.key }\n',
    );
    const { mqtt } = await readSiteConfig(file);
    expect(mqtt).toMatchObject({
      site: 'north-7',
      url: 'mqtts://broker.city.example:8883',
      username: 'box-7',
      passwordEnv: 'VEIL_MQTT_PASSWORD',
      tls: { ca: path.join(path.dirname(file), 'certs', 'ca.pem'), cert: '/etc/veil/box.pem', key: '/etc/veil/box.key' },
      persistentSession: true,
    });
  });

  it('names each bad mqtt setting: a site id that cannot be a topic level, a password in the file', async () => {
    const problemsWith = async (mqtt: string) =>
      readSiteConfig(await siteFile(`cameras:\n  - id: demo\n    source: { file: demo.mp4 }\nmqtt:\n${mqtt}`)).then(
        () => '',
        (e: Error) => e.message,
      );
    expect(await problemsWith('  site: "north/#"\n  url: mqtt://broker:1883\n')).toMatch(/mqtt\.site: a site id is 1–64 letters.*\(got "north\/#"\)/);
    const password = await problemsWith('  site: north\n  url: mqtt://broker:1883\n  username: box\n  password: hunter22\n  colour: blue\n');
    expect(password).toMatch(/mqtt\.passwordEnv: a password must not be written in the file: put it in an environment variable and name that variable here \(passwordEnv\)$/m);
    // However the section is wrong besides, the password never reaches the message.
    expect(password).not.toContain('hunter22');
  });
});

describe('camera sources', () => {
  // ffmpeg 5.0 (libavformat 59) renamed RTSP's socket timeout -stimeout to -timeout, which in 4.x meant "listen".
  const ffmpeg5 = { libavformatMajor: 59 };
  const ffmpeg41 = { libavformatMajor: 58 };

  it('reads RTSP over TCP by default, with a socket timeout so a dead camera is noticed', () => {
    expect(liveInput({ rtsp: 'rtsp://cam/stream', transport: 'tcp' }, ffmpeg5).inputOptions).toEqual(['-rtsp_transport', 'tcp', '-timeout', '10000000']);
    expect(liveInput({ rtsp: 'rtsp://cam/stream', transport: 'udp' }, ffmpeg5).inputOptions).toContain('udp');
  });

  it('gives ffmpeg 4.x (the bundled static build) its own name for the RTSP socket timeout', () => {
    expect(liveInput({ rtsp: 'rtsp://cam/stream', transport: 'udp' }, ffmpeg41).inputOptions).toEqual(['-rtsp_transport', 'udp', '-stimeout', '10000000']);
  });

  it('paces files like a camera and loops them only when asked', () => {
    expect(liveInput({ file: 'a.mp4', loop: true }, ffmpeg5)).toMatchObject({ inputOptions: ['-re', '-stream_loop', '-1'], endsNormally: false });
    expect(liveInput({ file: 'a.mp4', loop: false }, ffmpeg5)).toMatchObject({ inputOptions: ['-re'], endsNormally: true });
  });
});

describe('restart back-off', () => {
  it('doubles per failure up to the cap, with jitter in the upper half', () => {
    expect(backoffSeconds(1, 1, 60, () => 0)).toBe(0.5);
    expect(backoffSeconds(1, 1, 60, () => 1)).toBe(1);
    expect(backoffSeconds(4, 1, 60, () => 1)).toBe(8);
    expect(backoffSeconds(20, 1, 60, () => 0)).toBe(30);
    expect(backoffSeconds(20, 1, 60, () => 1)).toBe(60);
  });
});

describe('mqtt.secureAggregation', () => {
  const site = (secure: string, box = 'north', lines = '[{ name: in, from: [0, 0.5], to: [1, 0.5] }, { name: out, from: [0, 0.7], to: [1, 0.7] }]') =>
    `cameras:\n  - id: road\n    source: { file: demo.mp4 }\n    lines: ${lines}\nmqtt:\n  site: ${box}\n  url: mqtt://127.0.0.1:1883\n  secureAggregation: { district: centre, boxes: [east, north, south], windowSeconds: 60, epsilon: 0.5${secure} }\n`;

  it('reads the district with its box-only settings', async () => {
    const config = await readSiteConfig(await siteFile(site(', lines: [in]')));
    expect(config.mqtt?.secureAggregation).toMatchObject({ district: 'centre', fleet: 'city', dropoutsTolerated: 0, lines: ['in'], phaseSeconds: 20, linesPerBox: 1 });
  });

  it.each([
    ['a box that is not one of the district\'s', ', lines: [in]', 'west', 'this box (mqtt.site "west") is not one of the district\'s boxes'],
    ['more lines than linesPerBox', '', 'north', 'the box sums 2 lines (road: in, out), 1 more than linesPerBox = 1: name fewer in lines'],
    ['a line the camera does not have', ', lines: [across]', 'north', 'camera "road" has no line "across"'],
    ['a camera the box does not have', ', lines: [in], camera: gate', 'north', 'no camera "gate" in cameras'],
  ])('refuses %s, naming the field', async (_, secure, box, problem) => {
    const file = await siteFile(site(secure, box));
    await expect(readSiteConfig(file)).rejects.toThrow(problem);
    await expect(readSiteConfig(file)).rejects.toThrow('mqtt.secureAggregation');
  });
});

describe('mqtt.secureAggregation with several contributing cameras', () => {
  const CAMERAS = [
    '  - id: road\n    source: { file: road.mp4 }\n    lines: [{ name: in, from: [0, 0.5], to: [1, 0.5] }, { name: out, from: [0, 0.7], to: [1, 0.7] }]',
    '  - id: bridge\n    source: { file: bridge.mp4 }\n    lines: [{ name: across, from: [0, 0.5], to: [1, 0.5] }]',
    '  - id: yard\n    source: { file: yard.mp4 }',
  ].join('\n');
  const site = (secure: string) =>
    `cameras:\n${CAMERAS}\nmqtt:\n  site: north\n  url: mqtt://127.0.0.1:1883\n  secureAggregation:\n    { district: centre, boxes: [east, north, south], windowSeconds: 60, epsilon: 0.5, linesPerBox: 2${secure} }\n`;
  const lineOf = async (secure: string) => {
    const error = await readSiteConfig(await siteFile(site(secure))).then(() => undefined, (caught: Error) => caught.message);
    return error?.split('\n').find((line) => line.includes('mqtt.secureAggregation'));
  };

  it('reads each camera with the lines it sums, an id alone summing all of that camera\'s lines', async () => {
    const config = await readSiteConfig(await siteFile(site(', cameras: [{ camera: road, lines: [in] }, bridge]')));
    const settings = config.mqtt!.secureAggregation!;
    expect(settings.cameras).toEqual([{ camera: 'road', lines: ['in'] }, 'bridge']);
    // road's in and bridge's across: 2 lines, exactly linesPerBox.
    expect(contributingCameras(settings, config.cameras)).toEqual({ cameras: [{ id: 'road', lines: ['in'] }, { id: 'bridge', lines: ['across'] }], problems: [] });
  });

  it.each([
    // road's in and out plus bridge's across: 3 lines summed, L = 2.
    ['more lines in all than linesPerBox, by how many', ', cameras: [road, bridge]', 'mqtt.secureAggregation.cameras: the box sums 3 lines (road: in, out; bridge: across), 1 more than linesPerBox = 2: name fewer in the lines of cameras, or raise linesPerBox on every box and in city.yaml'],
    ['both forms at once', ', camera: road, cameras: [bridge]', 'mqtt.secureAggregation.cameras: write either camera and lines (one camera) or cameras (several), not both'],
    ['a camera the box does not have', ', cameras: [road, brige]', 'mqtt.secureAggregation.cameras[1].camera: no camera "brige" in cameras: name one of road, bridge, yard'],
    ['a camera listed twice', ', cameras: [{ camera: road, lines: [in] }, road]', 'mqtt.secureAggregation.cameras[1].camera: camera "road" is listed twice: list each camera once, with every line it sums'],
    ['a line the camera does not have', ', cameras: [{ camera: bridge, lines: [in] }]', 'mqtt.secureAggregation.cameras[0].lines: camera "bridge" has no line "in": name one of across'],
    ['a camera without lines', ', cameras: [bridge, yard]', 'mqtt.secureAggregation.cameras[1].camera: camera "yard" has no counting lines, so no crossings to contribute'],
    ['no camera named on a box with several', '', 'mqtt.secureAggregation.camera: name the contributing camera: this box has several (road, bridge, yard); to contribute more than one, list them under cameras'],
    ['an entry with a misspelt field', ', cameras: [{ camera: road, line: [in] }]', 'mqtt.secureAggregation.cameras[0].line: unknown setting: check its spelling'],
    ['an entry that is neither an id nor { camera, lines }', ', cameras: [3]', 'mqtt.secureAggregation.cameras[0]: each entry is a camera id, or { camera: ID, lines: [LINE, …] }'],
    ['an empty list', ', cameras: []', 'mqtt.secureAggregation.cameras: list at least one camera, or leave cameras out'],
  ])('refuses %s, naming the field and the fix', async (_, secure, problem) => {
    expect(await lineOf(secure)).toContain(problem);
  });
});
