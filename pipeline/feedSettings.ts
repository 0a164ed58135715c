/**
 * The feed server's settings from a config's `feed` section and the `--host`/`--port` flags, for every command that
 * serves a feed (`veil run`, `veil aggregate`). Read before anything starts, so a missing token costs a second.
 */
import type { z } from 'zod';
import { MIN_TOKEN_LENGTH, type FeedServerOptions } from '../streams/feedServer.ts';
import { numberFlag, UsageError } from './args.ts';
import { ConfigError } from './config.ts';
import type { feedSchema } from './siteConfig.ts';

export type FeedSettings = Pick<FeedServerOptions, 'host' | 'port' | 'token' | 'allowedOrigins' | 'replayWindows' | 'heartbeatIntervalMs' | 'cameraDownAfterSeconds'>;

/**
 * Throws ConfigError when the environment variable `feed.tokenEnv` names is unset or shorter than MIN_TOKEN_LENGTH,
 * UsageError when `--port` is not a port number.
 */
export function feedSettings(feed: z.output<typeof feedSchema>, flags: { host?: string; port?: string }): FeedSettings {
  const token = process.env[feed.tokenEnv];
  if (!token || token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(`the feed token is ${token ? 'too short' : 'not set'}: set the environment variable ${feed.tokenEnv} to a secret of at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 24\`)`);
  }
  const port = numberFlag(flags.port, 'port', 'a port number 0–65535') ?? feed.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${flags.port}: expected a port number 0–65535`);
  return {
    host: flags.host ?? feed.host,
    port,
    token,
    allowedOrigins: feed.allowedOrigins,
    replayWindows: feed.replayWindows,
    heartbeatIntervalMs: feed.heartbeatSeconds * 1000,
    cameraDownAfterSeconds: feed.cameraDownAfterSeconds,
  };
}
