/**
 * The broker connection's security options against a real mosquitto: user name and password (the password from an
 * environment variable), and TLS with the broker's certificate verified against a CA file and the box
 * authenticated by its client certificate. Certificates are made for the test by the openssl command line.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVeilMetrics } from '../../streams/metrics.ts';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import { mqttConnectionSchema, openMqttClient, reportBrokerProblems, type MqttConnectionInput } from '../../streams/mqtt/connection.ts';
import { startMqttPublisher } from '../../streams/mqtt/publisher.ts';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { releaseStoreSink } from '../../streams/sinks/releaseStoreSink.ts';
import { fanOut } from '../../streams/sinks/sink.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { eventually } from '../helpers/liveWait.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { watchBroker } from '../helpers/mqttWatcher.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

const sandbox = useLiveSandbox('veil-mqtt-auth-');

/** Keeps each problem the publisher logs (the `problem` field is what an operator reads). */
function problemLogger() {
  const problems: string[] = [];
  const keep = (_message: string, fields?: Record<string, unknown>) => {
    if (typeof fields?.problem === 'string') problems.push(fields.problem);
  };
  return { problems, info: () => {}, warn: keep, error: keep };
}

/** A box publishing one camera, "gate", with `connection`; the problems it logs are kept for the test. */
function startBox(connection: MqttConnectionInput, env: NodeJS.ProcessEnv = {}) {
  const store = openReleaseStore(':memory:');
  const log = problemLogger();
  const mqtt = startMqttPublisher({ connection: mqttConnectionSchema.parse({ reconnectSeconds: 0.2, ...connection }), site: 'north', cameras: ['gate'], store, cameraStates: new CameraStateRegistry(), metrics: createVeilMetrics(), log, where: 'config site.yaml, mqtt', env });
  const publish = fanOut([releaseStoreSink(store), mqtt], log);
  return {
    mqtt,
    log,
    publish,
    close: async () => {
      await mqtt.close();
      store.close();
    },
  };
}

describe('an MQTT broker that asks for a user name and password', () => {
  it('takes the box with the password from its variable, and refuses a wrong one with a message naming the settings', async () => {
    const folder = path.join(sandbox(), 'password-broker');
    await mkdir(folder, { recursive: true });
    const passwordFile = path.join(folder, 'passwords');
    execFileSync('mosquitto_passwd', ['-b', '-c', passwordFile, 'box-7', 'right-password']);
    execFileSync('mosquitto_passwd', ['-b', passwordFile, 'city', 'city-password']);
    const broker = await startMosquitto(folder, ['allow_anonymous false', `password_file ${passwordFile}`]);
    const city = await watchBroker(broker.url, 'city', { persistent: false, extra: { username: 'city', passwordEnv: 'CITY_PW' }, env: { CITY_PW: 'city-password' } });

    const wrong = startBox({ url: broker.url, username: 'box-7', passwordEnv: 'BOX_PW', clientId: 'wrong' }, { BOX_PW: 'wrong-password' });
    wrong.publish(releasedWindow({ camera: 'gate', index: 0 }));
    await eventually('the refusal to be logged', 20, () => wrong.log.problems.length > 0);
    console.info(`wrong password: ${wrong.log.problems.join(' | ')}`);
    expect(wrong.log.problems[0]).toMatch(/refused the credentials.*config site\.yaml, mqtt\.username.*config site\.yaml, mqtt\.passwordEnv/);
    expect(wrong.log.problems.join()).not.toContain('wrong-password');
    expect(wrong.mqtt.pending('gate')).toBe(1);
    await wrong.close();

    // The box's other connections (secure aggregation) and the aggregator's report through the same words, and a
    // refusal once while mqtt.js retries, not at every retry.
    const side = openMqttClient(mqttConnectionSchema.parse({ url: broker.url, username: 'box-7', passwordEnv: 'BOX_PW', reconnectSeconds: 0.2 }), { clientId: 'side', where: 'config site.yaml, mqtt', env: { BOX_PW: 'wrong-password' } });
    let refusals = 0;
    side.on('error', () => (refusals += 1));
    const reported: string[] = [];
    reportBrokerProblems(side, 'config site.yaml, mqtt', (problem) => reported.push(problem));
    await eventually('three refusals', 20, () => refusals >= 3);
    expect(reported).toEqual([wrong.log.problems[0]]);
    await side.endAsync(true);

    const right = startBox({ url: broker.url, username: 'box-7', passwordEnv: 'BOX_PW', clientId: 'right' }, { BOX_PW: 'right-password' });
    right.publish(releasedWindow({ camera: 'gate', index: 0 }));
    await eventually('the window at the city', 20, () => city.windows('gate').length === 1);
    expect(city.windows('gate')).toEqual([releasedWindow({ camera: 'gate', index: 0 })]);
    await right.close();
    await city.close();
    await broker.stop();
    expect(city.problems).toEqual([]);
  });
});

/** A CA, a certificate for the broker at 127.0.0.1 and one for the box, all P-256 (fast to make). */
async function makeCertificates(folder: string) {
  await mkdir(folder, { recursive: true });
  const file = (name: string) => path.join(folder, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=Veil test CA');
  const signed = async (name: string, subject: string, extension: string) => {
    await writeFile(file(`${name}.ext`), `${extension}\n`);
    openssl('req', ...newKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', '-extfile', file(`${name}.ext`));
  };
  await signed('broker', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1');
  await signed('box', '/CN=box-7', 'extendedKeyUsage=clientAuth');
  return { ca: file('ca.pem'), brokerCert: file('broker.pem'), brokerKey: file('broker.key'), boxCert: file('box.pem'), boxKey: file('box.key') };
}

describe('an MQTT broker on TLS that authenticates boxes by client certificate', () => {
  it('verifies the broker against the CA file, presents the client certificate, and says which setting to fix when either is missing', async () => {
    const certificates = await makeCertificates(path.join(sandbox(), 'certificates'));
    const broker = await startMosquitto(path.join(sandbox(), 'tls-broker'), [
      `cafile ${certificates.ca}`,
      `certfile ${certificates.brokerCert}`,
      `keyfile ${certificates.brokerKey}`,
      'require_certificate true',
    ]);
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const tls = { ca: certificates.ca, cert: certificates.boxCert, key: certificates.boxKey };
    const city = await watchBroker(url, 'city', { persistent: false, extra: { tls } });

    // Without the CA file the broker's certificate (signed by the test's CA) cannot be verified: nothing is sent.
    const unverified = startBox({ url, clientId: 'unverified', tls: { cert: tls.cert, key: tls.key } });
    unverified.publish(releasedWindow({ camera: 'gate', index: 0 }));
    await eventually('the certificate problem to be logged', 20, () => unverified.log.problems.length > 0);
    console.info(`no CA file: ${unverified.log.problems.join(' | ')}`);
    expect(unverified.log.problems[0]).toMatch(/TLS certificate was not accepted.*config site\.yaml, mqtt\.tls\.ca/);
    expect(unverified.mqtt.pending('gate')).toBe(1);
    await unverified.close();

    // Without a client certificate the broker ends the handshake: the box is told to look at its certificate.
    const anonymous = startBox({ url, clientId: 'anonymous', tls: { ca: tls.ca } });
    anonymous.publish(releasedWindow({ camera: 'gate', index: 0 }));
    await eventually('the refusal to be logged', 20, () => anonymous.log.problems.length > 0);
    console.info(`no client certificate: ${anonymous.log.problems.join(' | ')}`);
    expect(anonymous.log.problems[0]).toMatch(/refused the TLS client certificate.*config site\.yaml, mqtt\.tls\.cert and config site\.yaml, mqtt\.tls\.key/);
    expect(anonymous.mqtt.pending('gate')).toBe(1);
    await anonymous.close();

    const box = startBox({ url, clientId: 'box-7', tls });
    box.publish(releasedWindow({ camera: 'gate', index: 0 }));
    await eventually('the window at the city over TLS', 20, () => city.windows('gate').length === 1);
    expect(city.windows('gate')).toEqual([releasedWindow({ camera: 'gate', index: 0 })]);
    expect(box.mqtt.pending('gate')).toBe(0);
    await box.close();
    await city.close();
    await broker.stop();
    expect(city.problems).toEqual([]);
  });
});
