/**
 * The feed's gate as pure functions of a request's headers: every verdict, with the exact answer the server sends and
 * the warning it logs. feedAuth.test.ts checks the same rules through a real server and real upgrade requests; this
 * file is what mutation testing runs against each mutant of streams/feedGate.ts, in milliseconds.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { judgeFeedUpgrade, presentsFeedToken, TOKEN_SUBPROTOCOL_PREFIX, type FeedGate } from '../../streams/feedGate.ts';

const TOKEN = 'test-token-0123456789abcdef';
/** base64url of the token, written out by hand (RFC 4648 §5) so the test does not lean on the code's own encoding. */
const TOKEN_BASE64URL = 'dGVzdC10b2tlbi0wMTIzNDU2Nzg5YWJjZGVm';
const ALLOWED = 'https://ops.example.org';
const HOST = '127.0.0.1:8080';

const gate = (overrides: Partial<FeedGate> = {}): FeedGate => ({ token: TOKEN, allowedOrigins: [ALLOWED], maxClients: 2, ...overrides });
const request = (headers: IncomingHttpHeaders, remoteAddress = '192.0.2.7') => ({ headers: { host: HOST, ...headers }, socket: { remoteAddress } });
const bearer = { authorization: `Bearer ${TOKEN}` };

const ADMIT = { admit: true };
const FOREIGN_ORIGIN = (origin: string | undefined) => ({
  admit: false,
  status: 403,
  reason: 'Forbidden',
  body: 'This origin may not open the feed: add it to feed.allowedOrigins\n',
  headers: [],
  warning: { message: 'feed connection refused: origin not allowed', fields: { origin } },
});
const NO_TOKEN = (remoteAddress: string | undefined) => ({
  admit: false,
  status: 401,
  reason: 'Unauthorized',
  body: 'A valid bearer token is required for the feed\n',
  headers: ['WWW-Authenticate: Bearer realm="veil-feed"'],
  warning: { message: 'feed connection refused: missing or wrong token', fields: { remoteAddress } },
});

describe('presentsFeedToken', () => {
  it('checks the token encoded by hand matches the one the tests use', () => {
    expect(Buffer.from(TOKEN_BASE64URL, 'base64url').toString('utf8')).toBe(TOKEN);
  });

  it.each([
    ['Bearer and the token', { authorization: `Bearer ${TOKEN}` }],
    ['the scheme in any case (RFC 7235)', { authorization: `bEARER ${TOKEN}` }],
    ['a tab and spaces after the scheme', { authorization: `Bearer \t ${TOKEN}` }],
    ['whitespace after the token', { authorization: `Bearer ${TOKEN} \t` }],
    ['the subprotocol next to veil.v1', { 'sec-websocket-protocol': `veil.v1,veil.bearer.${TOKEN_BASE64URL}` }],
    ['the subprotocol after a comma and spaces', { 'sec-websocket-protocol': `veil.v1,   veil.bearer.${TOKEN_BASE64URL}  ` }],
    ['the subprotocol first', { 'sec-websocket-protocol': `veil.bearer.${TOKEN_BASE64URL}, veil.v1` }],
    ['a wrong Authorization header but the right subprotocol', { authorization: 'Basic abc', 'sec-websocket-protocol': `veil.bearer.${TOKEN_BASE64URL}` }],
  ])('accepts %s', (_, headers) => {
    expect(presentsFeedToken(headers, TOKEN)).toBe(true);
  });

  it.each([
    ['nothing', {}],
    ['an empty Authorization header', { authorization: '' }],
    ['Bearer alone', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['text before the scheme', { authorization: `XBearer ${TOKEN}` }],
    ['a space before the scheme', { authorization: ` Bearer ${TOKEN}` }],
    ['no space after the scheme', { authorization: `Bearer${TOKEN}` }],
    ['a second word after the token', { authorization: `Bearer ${TOKEN} ${TOKEN}` }],
    ['the token with its last character changed', { authorization: `Bearer ${TOKEN.slice(0, -1)}X` }],
    ['the token with a character more', { authorization: `Bearer ${TOKEN}X` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['the right Bearer header for another token, with the token subprotocol', { authorization: 'Bearer wrong-token-0123456789', 'sec-websocket-protocol': `veil.bearer.${TOKEN_BASE64URL}` }],
    ['the token subprotocol with a wrong token', { 'sec-websocket-protocol': 'veil.v1, veil.bearer.d3Jvbmc' }],
    ['the token subprotocol with nothing after the prefix', { 'sec-websocket-protocol': 'veil.v1, veil.bearer.' }],
    ['the token unencoded in the subprotocol', { 'sec-websocket-protocol': `veil.v1, veil.bearer.${TOKEN}` }],
    ['the token subprotocol under another prefix', { 'sec-websocket-protocol': `veil.v1, x-veil.bearer.${TOKEN_BASE64URL}` }],
    ['the encoded token without the prefix', { 'sec-websocket-protocol': `veil.v1, ${TOKEN_BASE64URL}` }],
  ])('refuses %s', (_, headers) => {
    expect(presentsFeedToken(headers, TOKEN)).toBe(false);
  });

  it('names the subprotocol prefix the dashboard uses (streams/dashboard/app.js)', () => {
    expect(TOKEN_SUBPROTOCOL_PREFIX).toBe('veil.bearer.');
  });
});

describe('judgeFeedUpgrade: origin', () => {
  it.each([
    ['a look-alike that starts with the allowed origin', 'https://ops.example.org.evil.com'],
    ['the allowed origin with another port', 'https://ops.example.org:8443'],
    ['the allowed origin over plain http', 'http://ops.example.org'],
    ['a prefix of the allowed origin', 'https://ops.example.or'],
    ['an origin that ends with the allowed host', 'https://evilops.example.org'],
    ['the opaque origin of a sandboxed frame or file:// page', 'null'],
    ['an empty origin', ''],
    ['the server host on another port', 'http://127.0.0.1:8081'],
    ['the server host under another scheme', `ws://${HOST}`],
  ])('refuses %s with 403 and logs the origin, even with the right token', (_, origin) => {
    expect(judgeFeedUpgrade(request({ ...bearer, origin }), gate(), 0)).toStrictEqual(FOREIGN_ORIGIN(origin));
  });

  it.each([
    ['the listed origin', ALLOWED],
    ['the second listed origin', 'https://noc.example.net'],
    ['its own origin over http', `http://${HOST}`],
    ['its own origin over https', `https://${HOST}`],
  ])('lets in %s', (_, origin) => {
    const twoOrigins = gate({ allowedOrigins: [ALLOWED, 'https://noc.example.net'] });
    expect(judgeFeedUpgrade(request({ ...bearer, origin }), twoOrigins, 0)).toStrictEqual(ADMIT);
  });

  it('gives a request without a Host header no same-origin pass', () => {
    const noHost = { headers: { ...bearer, origin: 'http://undefined' }, socket: { remoteAddress: '192.0.2.7' } };
    expect(judgeFeedUpgrade(noHost, gate(), 0)).toStrictEqual(FOREIGN_ORIGIN('http://undefined'));
  });

  it('judges a request without an Origin header (not a browser) by its token alone', () => {
    expect(judgeFeedUpgrade(request(bearer), gate(), 0)).toStrictEqual(ADMIT);
    expect(judgeFeedUpgrade(request({}), gate(), 0)).toStrictEqual(NO_TOKEN('192.0.2.7'));
  });

  it('lets any origin in with the right token when no allow-list is configured, and still wants the token', () => {
    const open = gate({ allowedOrigins: undefined });
    expect(judgeFeedUpgrade(request({ ...bearer, origin: 'https://anywhere.example' }), open, 0)).toStrictEqual(ADMIT);
    expect(judgeFeedUpgrade(request({ origin: 'https://anywhere.example' }), open, 0)).toStrictEqual(NO_TOKEN('192.0.2.7'));
  });

  it('with an empty allow-list, lets in only its own origin', () => {
    const ownOnly = gate({ allowedOrigins: [] });
    expect(judgeFeedUpgrade(request({ ...bearer, origin: `http://${HOST}` }), ownOnly, 0)).toStrictEqual(ADMIT);
    expect(judgeFeedUpgrade(request({ ...bearer, origin: ALLOWED }), ownOnly, 0)).toStrictEqual(FOREIGN_ORIGIN(ALLOWED));
  });

  it('judges the origin before the token: a foreign page learns nothing about the token (403, not 401)', () => {
    const origin = 'https://evil.example.com';
    expect(judgeFeedUpgrade(request({ authorization: 'Bearer wrong-token-0123456789', origin }), gate(), 0)).toStrictEqual(FOREIGN_ORIGIN(origin));
  });
});

describe('judgeFeedUpgrade: token', () => {
  it('answers a missing or wrong token 401 with a Bearer challenge (RFC 6750), logging the peer address', () => {
    expect(judgeFeedUpgrade(request({ origin: ALLOWED }, '198.51.100.4'), gate(), 0)).toStrictEqual(NO_TOKEN('198.51.100.4'));
    expect(judgeFeedUpgrade(request({ authorization: 'Bearer wrong-token-0123456789' }), gate(), 0)).toStrictEqual(NO_TOKEN('192.0.2.7'));
  });
});

describe('judgeFeedUpgrade: client cap', () => {
  const FULL = {
    admit: false,
    status: 503,
    reason: 'Service Unavailable',
    body: 'The feed is full (2 clients); try again later\n',
    headers: [],
  };

  it('admits up to maxClients − 1 connected, refuses with 503 from maxClients on, and logs nothing for it', () => {
    expect(judgeFeedUpgrade(request(bearer), gate({ maxClients: 2 }), 1)).toStrictEqual(ADMIT);
    expect(judgeFeedUpgrade(request(bearer), gate({ maxClients: 2 }), 2)).toStrictEqual(FULL);
    expect(judgeFeedUpgrade(request(bearer), gate({ maxClients: 2 }), 3)).toStrictEqual(FULL);
  });

  it('still answers 401, not 503, to a wrong token when full', () => {
    expect(judgeFeedUpgrade(request({ authorization: 'Bearer wrong-token-0123456789' }), gate({ maxClients: 1 }), 1)).toStrictEqual(NO_TOKEN('192.0.2.7'));
  });
});
