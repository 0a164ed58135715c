/**
 * The feed's gate, checked before any WebSocket opens: the origin allow-list (exact origins only), the bearer token
 * (compared in constant time) and the cap on clients. Real server on 127.0.0.1, real HTTP upgrade requests.
 */
import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { TOKEN_SUBPROTOCOL_PREFIX } from '../../streams/feedGate.ts';
import { FEED_SUBPROTOCOL, type FeedServer } from '../../streams/feedServer.ts';
import { connectClient, FEED_TOKEN, recordingLogger, startTestFeed, until } from './feedFixtures.ts';

const running: FeedServer[] = [];
const open: WebSocket[] = [];

afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await Promise.all(running.splice(0).map((feed) => feed.close()));
});

async function feed(overrides: Parameters<typeof startTestFeed>[0] = {}) {
  const started = await startTestFeed(overrides);
  running.push(started.feed);
  return started;
}

async function connected(wsUrl: string, headers: Record<string, string>, protocols?: string[]) {
  const client = await connectClient(wsUrl, { headers, ...(protocols ? { protocols } : {}) });
  open.push(client.ws);
  return client;
}

interface UpgradeAnswer {
  status: number;
  reason: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * Sends a WebSocket upgrade request by hand, as a browser or a script would, and resolves with the server's answer:
 * 101 when it switched protocols (the socket is then closed at once), or the refusal with its reason and body.
 */
function upgradeAnswer(url: string, headers: Record<string, string>, { setHost = true } = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const upgrade = request(url.replace(/^ws/, 'http'), {
      setHost,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('sixteen byte key').toString('base64'),
        ...headers,
      },
    });
    upgrade.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, reason: response.statusMessage ?? '', body, headers: response.headers }));
    });
    upgrade.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: 101, reason: response.statusMessage ?? '', body: '', headers: response.headers });
    });
    upgrade.on('error', reject);
    upgrade.end();
  });
}

/** What the feed logged at warn level. */
const warnings = (log: unknown) => (log as ReturnType<typeof recordingLogger>).lines.filter((line) => line.level === 'warn').map((line) => line.message);

const upgradeStatus = async (url: string, headers: Record<string, string>) => (await upgradeAnswer(url, headers)).status;

const bearer = { Authorization: `Bearer ${FEED_TOKEN}` };

describe('origin allow-list', () => {
  const allowed = 'https://ops.example.org';

  // The whole matrix of look-alike origins is in feedGate.test.ts; here, that the server asks the gate.
  it.each([
    ['a look-alike that starts with the allowed origin', 'https://ops.example.org.evil.com'],
    ['the opaque origin of a sandboxed frame or file:// page', 'null'],
  ])('refuses %s with 403, even with the right token', async (_, origin) => {
    const { wsUrl, feed: server } = await feed({ allowedOrigins: [allowed] });
    expect(await upgradeStatus(wsUrl, { ...bearer, Origin: origin })).toBe(403);
    expect(server.clientCount()).toBe(0);
  });

  it('lets in exactly the listed origin', async () => {
    const { wsUrl, feed: server } = await feed({ allowedOrigins: [allowed] });
    await connected(wsUrl, { ...bearer, Origin: allowed });
    expect(server.clientCount()).toBe(1);
  });

  it('lets in its own origin, over http or https, without listing it; not the same host on another port', async () => {
    const { wsUrl, feed: server } = await feed({ allowedOrigins: [allowed] });
    expect(await upgradeStatus(wsUrl, { ...bearer, Origin: `http://127.0.0.1:${server.port}` })).toBe(101);
    expect(await upgradeStatus(wsUrl, { ...bearer, Origin: `https://127.0.0.1:${server.port}` })).toBe(101);
    expect(await upgradeStatus(wsUrl, { ...bearer, Origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
  });

  it('gives a request without a Host header no same-origin pass', async () => {
    const { wsUrl } = await feed({ allowedOrigins: [allowed] });
    const answer = await upgradeAnswer(wsUrl, { ...bearer, Origin: 'http://undefined' }, { setHost: false });
    expect(answer.status).toBe(403);
  });

  it('says in the refusal what to do, and logs it', async () => {
    const { wsUrl, log } = await feed({ allowedOrigins: [allowed] });
    const answer = await upgradeAnswer(wsUrl, { ...bearer, Origin: 'https://evil.example.com' });
    expect([answer.status, answer.reason]).toEqual([403, 'Forbidden']);
    expect(answer.body).toMatch(/add it to feed\.allowedOrigins/);
    expect(warnings(log)).toEqual([expect.stringMatching(/origin not allowed/)]);
  });

  it('judges the origin before the token: a foreign page learns nothing about the token (403, not 401)', async () => {
    const { wsUrl } = await feed({ allowedOrigins: [allowed] });
    expect(await upgradeStatus(wsUrl, { Authorization: 'Bearer wrong-token-0123456789', Origin: 'https://evil.example.com' })).toBe(403);
  });
});

describe('bearer token', () => {
  const asSubprotocol = (token: string) => `${TOKEN_SUBPROTOCOL_PREFIX}${Buffer.from(token, 'utf8').toString('base64url')}`;

  it.each([
    ['the scheme in any case (RFC 7235)', { Authorization: `bearer ${FEED_TOKEN}` }],
    ['more than one space after the scheme, and a trailing one', { Authorization: `Bearer   ${FEED_TOKEN} ` }],
  ])('is accepted with %s', async (_, headers) => {
    const { wsUrl, feed: server } = await feed();
    await connected(wsUrl, headers);
    expect(server.clientCount()).toBe(1);
  });

  it('is accepted as a browser sends it, as a subprotocol next to veil.v1, which alone is answered', async () => {
    const { wsUrl, feed: server } = await feed();
    const client = await connected(wsUrl, {}, [FEED_SUBPROTOCOL, asSubprotocol(FEED_TOKEN)]);
    expect(client.ws.protocol).toBe(FEED_SUBPROTOCOL);
    expect(server.clientCount()).toBe(1);
  });

  it('is accepted in a subprotocol list as a browser writes it, with a space after the comma', async () => {
    const { wsUrl } = await feed();
    const listed = { 'Sec-WebSocket-Protocol': `${FEED_SUBPROTOCOL}, ${asSubprotocol(FEED_TOKEN)}` };
    expect(await upgradeStatus(wsUrl, listed)).toBe(101);
  });

  it('when missing or wrong, is answered 401 with a Bearer challenge (RFC 6750) and logged', async () => {
    const { wsUrl, log } = await feed();
    const answer = await upgradeAnswer(wsUrl, {});
    expect([answer.status, answer.reason]).toEqual([401, 'Unauthorized']);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="veil-feed"');
    expect(answer.body).toMatch(/valid bearer token is required/);
    expect(warnings(log)).toEqual([expect.stringMatching(/missing or wrong token/)]);
  });

  // Every malformed or wrong token is in feedGate.test.ts; here, one of each way a real client can present it.
  it.each([
    ['no token at all', {}],
    ['the token with its last character changed', { Authorization: `Bearer ${FEED_TOKEN.slice(0, -1)}X` }],
    ['a wrong token as a subprotocol', { 'Sec-WebSocket-Protocol': `${FEED_SUBPROTOCOL}, ${asSubprotocol('wrong-token-0123456789')}` }],
  ])('is refused with 401 given %s', async (_, headers) => {
    const { wsUrl, feed: server } = await feed();
    expect(await upgradeStatus(wsUrl, headers)).toBe(401);
    expect(server.clientCount()).toBe(0);
  });
});

describe('client cap', () => {
  it('with maxClients 1, answers the second client 503 and lets a new one in once the first has left', async () => {
    const { wsUrl, feed: server } = await feed({ maxClients: 1 });
    const first = await connected(wsUrl, bearer);
    const full = await upgradeAnswer(wsUrl, bearer);
    expect([full.status, full.reason]).toEqual([503, 'Service Unavailable']);
    expect(full.body).toMatch(/The feed is full \(1 clients\); try again later/);
    expect(server.clientCount()).toBe(1);

    first.ws.close();
    await until(() => server.clientCount() === 0, 'the first client to leave');
    await connected(wsUrl, bearer);
    expect(server.clientCount()).toBe(1);
  });

  it('still answers 401, not 503, to a wrong token when full', async () => {
    const { wsUrl } = await feed({ maxClients: 1 });
    await connected(wsUrl, bearer);
    expect(await upgradeStatus(wsUrl, { Authorization: 'Bearer wrong-token-0123456789' })).toBe(401);
  });
});

const source = (file: string) => readFileSync(new URL(`../../streams/${file}`, import.meta.url), 'utf8');
const feedGateSource = source('feedGate.ts');
const feedServerSource = source('feedServer.ts');
/** Under Stryker the files hold every mutant at once behind switches; these checks are about the source as written. */
const instrumentedByStryker = [feedGateSource, feedServerSource].some((text) => text.includes('stryMutAct_'));

describe.skipIf(instrumentedByStryker)('token comparison (static check of streams/feedGate.ts and feedServer.ts)', () => {
  const tokensMatch = /\nfunction tokensMatch\([^)]*\)[^{]*\{\n([\s\S]*?)\n\}\n/.exec(feedGateSource)?.[1] ?? '';

  it('compares the token with crypto.timingSafeEqual, never with an equality operator', () => {
    // Guard against a vacuous pass: the function must be found before anything is said about its body.
    expect(tokensMatch).not.toBe('');
    expect(tokensMatch).toMatch(/\btimingSafeEqual\(/);
    expect(tokensMatch).not.toMatch(/(===?|!==?)\s*expected\b|\bexpected\s*(===?|!==?)/);
  });

  it('uses the configured token nowhere else but to check its length and to hand it to the gate', () => {
    const uses = (text: string, pattern: RegExp) =>
      [...text.matchAll(pattern)].map((use) => text.slice(use.index - 40, use.index + use[0].length));
    const serverUses = [...feedServerSource.matchAll(/options\.token\b(\.length)?/g)].filter((use) => use[1] === undefined);
    expect(serverUses.map((use) => feedServerSource.slice(use.index - 7, use.index + use[0].length))).toEqual(['token: options.token']);
    expect(uses(feedServerSource, /\bgate\.token\b/g)).toEqual([expect.stringMatching(/presentsFeedToken\(request\.headers, gate\.token$/)]);
    expect(uses(feedGateSource, /\bgate\.token\b/g)).toEqual([expect.stringMatching(/presentsFeedToken\(request\.headers, gate\.token$/)]);
  });
});

describe('path', () => {
  it('opens the feed at /feed whatever the query, and answers 404 naming /feed anywhere else', async () => {
    const { feed: server, wsUrl } = await feed();
    expect(await upgradeStatus(`${wsUrl}?since=0`, bearer)).toBe(101);
    const elsewhere = await upgradeAnswer(`${server.url}/metrics`, bearer);
    expect([elsewhere.status, elsewhere.reason]).toEqual([404, 'Not Found']);
    expect(elsewhere.body).toMatch(/the feed is at \/feed/);
  });
});
