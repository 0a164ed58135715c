/**
 * The feed's gate: who may open the WebSocket feed, and who may read what the feed token guards (/metrics and the
 * per-camera detail of /healthz). Pure functions of a request's headers, apart from the transport in feedServer.ts, so
 * every rule has a unit test and mutation testing covers the whole file (docs/mutation-testing.md).
 *
 *   const verdict = judgeFeedUpgrade(request, { token, allowedOrigins, maxClients }, clientsNow);
 *   if (!verdict.admit) refuse with verdict.status, verdict.reason, verdict.body, verdict.headers
 *
 * An upgrade is judged in this order, each step answering before the next is asked:
 *   1. origin   403  a browser page from an origin neither listed nor the server's own (a foreign page must not learn
 *                    whether its token was right, so this comes before the token)
 *   2. token    401  no bearer token, or the wrong one (RFC 6750 challenge)
 *   3. capacity 503  already maxClients clients
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Browsers cannot set headers on a WebSocket, so the dashboard offers the token as the subprotocol
 * `veil.bearer.<base64url(token)>` next to `veil.v1`.
 */
export const TOKEN_SUBPROTOCOL_PREFIX = 'veil.bearer.';

/** What the gate reads of a request; Node's IncomingMessage fits. */
export interface GateRequest {
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string | undefined };
}

export interface FeedGate {
  /** The feed token (feedServer.ts refuses one shorter than MIN_TOKEN_LENGTH before any request). */
  token: string;
  /** Browser origins allowed besides the server's own; undefined: any origin with the right token. */
  allowedOrigins: string[] | undefined;
  /** Clients the feed serves at once; the next one is answered 503. */
  maxClients: number;
}

/** Why an upgrade was refused, and the plain HTTP answer that says so (the WebSocket never opens). */
export interface UpgradeRefusal {
  admit: false;
  status: 401 | 403 | 503;
  reason: string;
  body: string;
  /** Extra response header lines, `Name: value`. */
  headers: string[];
  /** What the server logs at warn level, with its fields; a full feed is not worth a warning. */
  warning?: { message: string; fields: Record<string, string | undefined> };
}

export type UpgradeVerdict = { admit: true } | UpgradeRefusal;

/** Hashing both sides gives equal-length buffers: neither the comparison nor a length check leaks the token. */
function tokensMatch(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token from `Authorization: Bearer <token>` (scheme in any case, RFC 7235) or else the token subprotocol. */
function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const bearer = headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  if (bearer) return bearer[1];
  const offered = headers['sec-websocket-protocol']?.split(',').map((p) => p.trim());
  const tokenProtocol = offered?.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
  return tokenProtocol === undefined
    ? undefined
    : Buffer.from(tokenProtocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length), 'base64url').toString('utf8');
}

/**
 * Exact origins only (RFC 6454 serialisation: scheme, host, port), never a prefix; `null` (a sandboxed frame or a
 * file:// page) matches nothing. A request without an Origin header is not from a browser and is judged by its token.
 */
function originAllowed(headers: IncomingHttpHeaders, allowedOrigins: string[] | undefined): boolean {
  const { origin, host } = headers;
  if (allowedOrigins === undefined || origin === undefined) return true;
  const sameOrigin = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  return sameOrigin || allowedOrigins.includes(origin);
}

/** Whether the request carries the feed token, in its Authorization header or (browsers) its subprotocols. */
export function presentsFeedToken(headers: IncomingHttpHeaders, token: string): boolean {
  return tokensMatch(presentedToken(headers), token);
}

/** Whether a WebSocket upgrade to the feed may open, with `clients` already connected; else the answer to send. */
export function judgeFeedUpgrade(request: GateRequest, gate: FeedGate, clients: number): UpgradeVerdict {
  if (!originAllowed(request.headers, gate.allowedOrigins)) {
    return {
      admit: false,
      status: 403,
      reason: 'Forbidden',
      body: 'This origin may not open the feed: add it to feed.allowedOrigins\n',
      headers: [],
      warning: { message: 'feed connection refused: origin not allowed', fields: { origin: request.headers.origin } },
    };
  }
  if (!presentsFeedToken(request.headers, gate.token)) {
    return {
      admit: false,
      status: 401,
      reason: 'Unauthorized',
      body: 'A valid bearer token is required for the feed\n',
      headers: ['WWW-Authenticate: Bearer realm="veil-feed"'],
      warning: {
        message: 'feed connection refused: missing or wrong token',
        fields: { remoteAddress: request.socket.remoteAddress },
      },
    };
  }
  if (clients >= gate.maxClients) {
    return {
      admit: false,
      status: 503,
      reason: 'Service Unavailable',
      body: `The feed is full (${gate.maxClients} clients); try again later\n`,
      headers: [],
    };
  }
  return { admit: true };
}
