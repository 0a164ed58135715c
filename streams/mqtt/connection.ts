/**
 * How Veil reaches an MQTT broker, one schema for both ends (a box's `mqtt:` section, `veil aggregate`'s broker):
 *
 *   url: mqtts://broker.city.example:8883
 *   username: box-north-7              # optional
 *   passwordEnv: VEIL_MQTT_PASSWORD    # the environment variable holding the password; never the password itself
 *   tls:                               # optional, mqtts:// only; paths relative to the config file
 *     ca: certs/city-ca.pem            #   the CA that signed the broker's certificate (else the system's CAs)
 *     cert: certs/box.pem              #   a client certificate, for brokers that authenticate boxes by certificate
 *     key: certs/box.key               #   its private key (cert and key come together)
 *   clientId: box-north-7              # optional; the caller's stable default otherwise
 *
 *   const client = openMqttClient(connection, { clientId: 'veil-north', where: 'config site.yaml, mqtt' });
 *
 * Secrets stay out of files that get copied around: a password in the url or in the file is refused, and the
 * server's certificate is always verified (there is no switch to turn that off).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';

/** MQTT 3.1.1 keepalive is a 16-bit count of seconds. */
const MAX_KEEPALIVE_SECONDS = 65_535;

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

function brokerUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'the broker url is not a URL; write it like mqtt://broker.example:1883 or mqtts://broker.example:8883';
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') {
    return `the broker url must start with mqtt:// (plain TCP) or mqtts:// (TLS), not ${url.protocol}//`;
  }
  if (url.hostname === '') return 'the broker url names no host; write it like mqtts://broker.example:8883';
  if (url.username !== '' || url.password !== '') {
    return "the broker url holds credentials: put the user name in this section's username and the password in the environment variable named by passwordEnv";
  }
  if (url.pathname !== '' && url.pathname !== '/') return 'the broker url has a path; MQTT over TCP has none (mqtt://host:port)';
  return undefined;
}

const tlsFilesSchema = z.strictObject({
  /** PEM file of the CA (or CAs) that signed the broker's certificate; left out, Node's bundled CAs verify it. */
  ca: z.string().min(1).optional(),
  /** PEM client certificate, for brokers that authenticate clients by certificate (mosquitto's require_certificate). */
  cert: z.string().min(1).optional(),
  /** PEM private key of `cert`. */
  key: z.string().min(1).optional(),
});

export const mqttConnectionSchema = z
  .strictObject({
    url: z.string().superRefine((text, ctx) => {
      const problem = brokerUrlProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    username: z.string().min(1).optional(),
    /** The name of the environment variable that holds the password. */
    passwordEnv: z.string().regex(ENV_NAME, 'an environment variable name, e.g. VEIL_MQTT_PASSWORD (the password itself stays out of the file)').optional(),
    tls: tlsFilesSchema.optional(),
    /**
     * The MQTT client id. The broker keeps a persistent session under it, so it must stay the same across restarts
     * and differ between boxes. Left out: the caller's default (a box: `veil-{site}`).
     */
    clientId: z.string().regex(/^[\w.-]{1,64}$/, 'a client id is 1–64 letters, digits, "_", "-" or "."').optional(),
    /** A broker that hears nothing for 1.5 × this closes the connection (and publishes the last will). */
    keepaliveSeconds: z.number().int().min(1).max(MAX_KEEPALIVE_SECONDS).default(30),
    /** Wait between reconnection attempts while the broker is unreachable. */
    reconnectSeconds: z.number().positive().max(3600).default(5),
    /** How long one connection attempt may take before it counts as failed. */
    connectTimeoutSeconds: z.number().positive().max(600).default(30),
    /**
     * Keep the session on the broker across disconnections (MQTT clean session off): subscriptions and the QoS 1
     * messages still unacknowledged survive, which is what makes "0 windows lost" hold across a broker outage.
     */
    persistentSession: z.boolean().default(true),
  })
  .superRefine((connection, ctx) => {
    if (connection.passwordEnv !== undefined && connection.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'a password needs a user name: set username as well' });
    }
    const tls = connection.tls;
    if (tls === undefined) return;
    if (!connection.url.startsWith('mqtts://')) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'TLS files are set but the url is mqtt:// (no TLS): use mqtts://' });
    }
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tls', tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs both tls.cert and tls.key' });
    }
  });
export type MqttConnection = z.output<typeof mqttConnectionSchema>;

/**
 * `schema` (the connection, or a config section built on it) for a config file, refusing a `password` key without
 * ever letting its value reach an error message: the key is removed before anything else is checked (an unknown-key
 * error would print the whole section), and the problem is reported at passwordEnv, where the fix goes.
 */
export function refusingPasswordInFile<T extends z.ZodType>(schema: T) {
  return z.preprocess((input, ctx) => {
    if (input === null || typeof input !== 'object' || !('password' in input)) return input;
    ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'a password must not be written in the file: put it in an environment variable and name that variable here (passwordEnv)' });
    const { password: _refused, ...rest } = input as Record<string, unknown>;
    return rest;
  }, schema);
}
export type MqttConnectionInput = z.input<typeof mqttConnectionSchema>;

/** The connection with its TLS file paths resolved against `baseDir` (a config file's folder), as its reader expects. */
export function withTlsPathsRelativeTo<T extends MqttConnection>(connection: T, baseDir: string): T {
  if (connection.tls === undefined) return connection;
  const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(baseDir, file));
  return { ...connection, tls: { ca: resolve(connection.tls.ca), cert: resolve(connection.tls.cert), key: resolve(connection.tls.key) } };
}

/**
 * The client id of a connection a program opens beside its main one (`role`: "secagg", "eval-{camera}"):
 * `{clientId}-{role}`, from the configured `clientId` or else from `defaultId`. A broker keeps one session per client
 * id and closes the older connection when a second one arrives under the same id (MQTT 3.1.1 §3.1.4), so two
 * connections of one box under one id would take each other's place at every reconnect.
 */
export function sideClientId(connection: Pick<MqttConnection, 'clientId'>, defaultId: string, role: string): string {
  return `${connection.clientId ?? defaultId}-${role}`;
}

/** A problem with a broker connection's settings, found while opening it: the message names the field and the fix. */
export class MqttConnectionError extends Error {}

export interface OpenMqttClientOptions {
  /** Used when the connection names no clientId; must be stable across restarts for a persistent session. */
  clientId: string;
  /** Where the connection came from, for messages: e.g. `config site.yaml, mqtt`. */
  where: string;
  /** Published by the broker when this client disappears without a clean disconnect (MQTT's last will). */
  will?: { topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean };
  /** Where passwordEnv is looked up; process.env unless a test says otherwise. */
  env?: NodeJS.ProcessEnv;
}

function readPem(where: string, field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : `error ${code ?? 'unknown'}`;
    throw new MqttConnectionError(`${where}.tls.${field}: ${file} could not be read (${reason}): check the path and that Veil's user may read it`);
  }
}

/**
 * The mqtt.js client options of `connection`: credentials from the environment, TLS files read from disk, times in
 * the units mqtt.js expects (keepalive in seconds, the rest in ms). Throws MqttConnectionError naming the field when
 * the password's environment variable is unset or empty, or a TLS file cannot be read.
 */
export function mqttClientOptions(connection: MqttConnection, options: OpenMqttClientOptions): IClientOptions {
  const { where } = options;
  const env = options.env ?? process.env;
  let password: string | undefined;
  if (connection.passwordEnv !== undefined) {
    password = env[connection.passwordEnv];
    if (!password) {
      throw new MqttConnectionError(`${where}.passwordEnv: the environment variable ${connection.passwordEnv} is ${password === undefined ? 'not set' : 'empty'}: set it to the broker password of user "${connection.username}"`);
    }
  }
  const tls = connection.tls ?? {};
  return {
    clientId: connection.clientId ?? options.clientId,
    clean: !connection.persistentSession,
    keepalive: connection.keepaliveSeconds,
    reconnectPeriod: connection.reconnectSeconds * 1000,
    // A refused CONNACK (credentials, ACL) is retried like a lost connection: the broker's side may be fixed while
    // the box runs, and a box that gave up would need a visit.
    reconnectOnConnackError: true,
    connectTimeout: connection.connectTimeoutSeconds * 1000,
    // MQTT 3.1.1: a persistent session lasts until the client asks for a clean one; 5 would need an expiry to match.
    protocolVersion: 4,
    ...(connection.username !== undefined ? { username: connection.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls.ca !== undefined ? { ca: readPem(where, 'ca', tls.ca) } : {}),
    ...(tls.cert !== undefined ? { cert: readPem(where, 'cert', tls.cert) } : {}),
    ...(tls.key !== undefined ? { key: readPem(where, 'key', tls.key) } : {}),
    rejectUnauthorized: true,
    ...(options.will !== undefined ? { will: options.will } : {}),
  };
}

/**
 * Opens an mqtt.js client on `connection` (see mqttClientOptions for what is read and thrown). It connects in the
 * background and keeps reconnecting every reconnectSeconds while the broker is away; listen for 'connect', 'offline'
 * and 'error' on it. Close it with `endAsync()`.
 */
export function openMqttClient(connection: MqttConnection, options: OpenMqttClientOptions): MqttClient {
  return connect(connection.url, mqttClientOptions(connection, options));
}

/**
 * An mqtt.js or socket error as a person can act on it: what happened and which setting under `where` (e.g.
 * `config site.yaml, mqtt`) to look at.
 */
export function brokerProblemInWords(error: Error, where: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `nothing accepts connections at ${where}.url: is the broker running, and is the port right?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host in ${where}.url cannot be resolved: check the name and the box's DNS`;
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `the broker at ${where}.url cannot be reached: check the network path and firewall`;
  // A TLS alert is the broker's verdict on this client's certificate; the other certificate codes are ours on the broker's.
  if (typeof code === 'string' && /^ERR_SSL_.*ALERT/.test(code)) {
    return `the broker refused the TLS client certificate (${code}): set ${where}.tls.cert and ${where}.tls.key to a certificate the broker's CA signed`;
  }
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return `the broker's TLS certificate was not accepted (${code}): set ${where}.tls.ca to the CA that signed it, and connect by the name the certificate holds`;
  }
  if (/not authori[sz]ed|bad user ?name or password/i.test(error.message)) {
    return `the broker refused the credentials (${error.message}): check ${where}.username, the password variable named by ${where}.passwordEnv, or the client certificate`;
  }
  return `${error.message} (${where})`;
}

/**
 * Calls `report` with each of `client`'s connection problems in words (brokerProblemInWords), once until the
 * connection comes up again: a client retrying every few seconds against a broker that refuses it would otherwise
 * say the same thing all day.
 */
export function reportBrokerProblems(client: MqttClient, where: string, report: (problem: string) => void): void {
  let last: string | undefined;
  client.on('connect', () => (last = undefined));
  client.on('error', (error) => {
    const problem = brokerProblemInWords(error, where);
    if (problem === last) return;
    last = problem;
    report(problem);
  });
}
