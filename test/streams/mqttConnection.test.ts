import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  MqttConnectionError,
  mqttClientOptions,
  mqttConnectionSchema,
  sideClientId,
  withTlsPathsRelativeTo,
  type MqttConnectionInput,
} from '../../streams/mqtt/connection.ts';

const where = 'config site.yaml, mqtt';

/** The messages zod gives for `input`, each prefixed with the field's path. */
function problems(input: unknown): string[] {
  const result = mqttConnectionSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const parse = (input: MqttConnectionInput) => mqttConnectionSchema.parse(input);

describe('the MQTT connection schema', () => {
  it('fills the defaults: persistent session, 30 s keepalive, reconnect every 5 s', () => {
    expect(parse({ url: 'mqtt://127.0.0.1:1883' })).toEqual({
      url: 'mqtt://127.0.0.1:1883',
      keepaliveSeconds: 30,
      reconnectSeconds: 5,
      connectTimeoutSeconds: 30,
      persistentSession: true,
    });
  });

  it('accepts user name, password variable, TLS files and a client id together', () => {
    const input = {
      url: 'mqtts://broker.city.example:8883',
      username: 'box-7',
      passwordEnv: 'VEIL_MQTT_PASSWORD',
      tls: { ca: 'ca.pem', cert: 'box.pem', key: 'box.key' },
      clientId: 'box-7',
    };
    expect(parse(input)).toMatchObject(input);
  });

  it.each([
    ['http://broker:1883', 'must start with mqtt://'],
    ['ws://broker:8080', 'must start with mqtt://'],
    ['broker:1883', 'must start with mqtt://'],
    ['not a url', 'not a URL'],
    ['mqtt://box:secret@broker:1883', 'holds credentials'],
    ['mqtt://broker:1883/veil', 'has a path'],
  ])('refuses the url %s, saying why', (url, why) => {
    const found = problems({ url });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^url: /);
    expect(found[0]).toContain(why);
  });

  it('refuses a password written in the file: only its environment variable is named there', () => {
    expect(problems({ url: 'mqtt://broker', username: 'box', password: 'secret' })).toEqual([expect.stringContaining('password')]);
    expect(problems({ url: 'mqtt://broker', username: 'box', passwordEnv: 'secret' })[0]).toMatch(/^passwordEnv: an environment variable name/);
  });

  it('refuses a password without a user name, TLS files on plain mqtt://, and half a client certificate', () => {
    expect(problems({ url: 'mqtt://broker', passwordEnv: 'P' })).toEqual(['passwordEnv: a password needs a user name: set username as well']);
    expect(problems({ url: 'mqtt://broker', tls: { ca: 'ca.pem' } })).toEqual(['tls: TLS files are set but the url is mqtt:// (no TLS): use mqtts://']);
    expect(problems({ url: 'mqtts://broker', tls: { cert: 'box.pem' } })).toEqual(['tls.key: a client certificate needs both tls.cert and tls.key']);
    expect(problems({ url: 'mqtts://broker', tls: { key: 'box.key' } })).toEqual(['tls.cert: a client certificate needs both tls.cert and tls.key']);
  });

  it('refuses a keepalive MQTT cannot carry (16 bits of seconds) and a client id with a topic wildcard', () => {
    expect(problems({ url: 'mqtt://broker', keepaliveSeconds: 65_536 })[0]).toMatch(/^keepaliveSeconds: /);
    expect(problems({ url: 'mqtt://broker', keepaliveSeconds: 0 })[0]).toMatch(/^keepaliveSeconds: /);
    expect(problems({ url: 'mqtt://broker', clientId: 'box/#' })[0]).toMatch(/^clientId: a client id is/);
  });

  it('rejects unknown keys, so a misspelt setting is not silently ignored', () => {
    const result = mqttConnectionSchema.safeParse({ url: 'mqtt://broker', keepalive: 10 });
    expect(result.success).toBe(false);
    expect(z.prettifyError(result.error!)).toContain('keepalive');
  });
});

describe('mqtt.js options from a connection', () => {
  it('takes the password from the named environment variable and converts seconds to what mqtt.js expects', () => {
    const connection = parse({ url: 'mqtt://broker', username: 'box', passwordEnv: 'BOX_PW', keepaliveSeconds: 12, reconnectSeconds: 2.5, connectTimeoutSeconds: 7 });
    const options = mqttClientOptions(connection, { clientId: 'veil-north', where, env: { BOX_PW: 'hunter22' } });
    // keepalive stays in seconds (MQTT's unit); reconnectPeriod and connectTimeout are milliseconds in mqtt.js.
    expect(options).toMatchObject({ clientId: 'veil-north', username: 'box', password: 'hunter22', keepalive: 12, reconnectPeriod: 2500, connectTimeout: 7000, clean: false, rejectUnauthorized: true, reconnectOnConnackError: true });
  });

  it('uses the configured client id over the default, and a clean session when persistence is off', () => {
    const options = mqttClientOptions(parse({ url: 'mqtt://broker', clientId: 'box-7', persistentSession: false }), { clientId: 'veil-north', where });
    expect(options).toMatchObject({ clientId: 'box-7', clean: true });
  });

  it('gives a connection opened beside the main one an id of its own, from the configured id or else the default', () => {
    expect(sideClientId(parse({ url: 'mqtt://broker', clientId: 'box-7' }), 'veil-north', 'secagg')).toBe('box-7-secagg');
    expect(sideClientId(parse({ url: 'mqtt://broker' }), 'veil-north', 'secagg')).toBe('veil-north-secagg');
  });

  it('names the variable and the fix when the password variable is unset or empty', () => {
    const connection = parse({ url: 'mqtt://broker', username: 'box', passwordEnv: 'BOX_PW' });
    expect(() => mqttClientOptions(connection, { clientId: 'c', where, env: {} })).toThrow(
      new MqttConnectionError('config site.yaml, mqtt.passwordEnv: the environment variable BOX_PW is not set: set it to the broker password of user "box"'),
    );
    expect(() => mqttClientOptions(connection, { clientId: 'c', where, env: { BOX_PW: '' } })).toThrow(/BOX_PW is empty/);
  });

  it('reads the TLS files, and names the field and the path of one that cannot be read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'veil-mqtt-'));
    const pem = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';
    await writeFile(path.join(dir, 'ca.pem'), pem);
    const connection = withTlsPathsRelativeTo(parse({ url: 'mqtts://broker', tls: { ca: 'ca.pem' } }), dir);
    expect(connection.tls?.ca).toBe(path.join(dir, 'ca.pem'));
    expect(mqttClientOptions(connection, { clientId: 'c', where }).ca?.toString()).toBe(pem);

    const missing = withTlsPathsRelativeTo(parse({ url: 'mqtts://broker', tls: { ca: 'ca.pem', cert: 'box.pem', key: 'box.key' } }), dir);
    expect(() => mqttClientOptions(missing, { clientId: 'c', where })).toThrow(
      `config site.yaml, mqtt.tls.cert: ${path.join(dir, 'box.pem')} could not be read (no such file): check the path`,
    );
  });
});
