/**
 * The site config of `veil run`: the cameras one box supervises, the feed it serves, where it keeps its state and,
 * optionally, the MQTT broker it publishes to.
 * See the README's example site.yaml.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { cameraSourceSchema } from '../streams/cameraSource.ts';
import { DEFAULT_CAMERA_DOWN_AFTER_SECONDS } from '../streams/feedServer.ts';
import { mqttConnectionSchema, refusingPasswordInFile, withTlsPathsRelativeTo } from '../streams/mqtt/connection.ts';
import { ID_PATTERN } from '../streams/mqtt/topics.ts';
import { districtProblem, districtSecureAggregationShape, phaseSecondsSchema } from './secureAggregationDistrict.ts';
import { contributingCameras, districtCamerasShape } from './districtCameras.ts';
import { driftSettingsSchema } from './driftMonitor.ts';
import { analysisShape, detectorSchema, parseConfig, readConfigFile, schemaKeys, withDefaultZones, type ConfigKind } from './config.ts';

/** Where the privacy ledger and the release store live unless the config says: per the XDG base-directory spec. */
export function defaultStateDir(): string {
  return path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'veil');
}

/** Attempts a file camera gets before it is `failed`; see giveUpAfterFailures. */
export const FILE_CAMERA_ATTEMPTS = 3;

export const cameraSchema = z
  .strictObject({
    id: z.string().regex(/^[\w.-]{1,64}$/, 'a camera id is 1–64 letters, digits, "_", "-" or "."'),
    source: cameraSourceSchema,
    ...analysisShape,
    privacy: z.record(z.string(), z.unknown()).default({}),
    /** Drift of the detector's scores and box sizes, released privately (docs/drift.md); left out: off. */
    drift: driftSettingsSchema.optional(),
    /** Frames held for a busy detector (1–2): more only adds latency on a live stream. */
    queueFrames: z.number().int().min(1).max(2).default(2),
    /** No frame for this long: the camera is stalled and its ffmpeg is restarted. */
    stallSeconds: z.number().positive().default(15),
    /**
     * Consecutive failures after which the camera is marked failed and no longer retried. Left out: a network or device
     * camera is retried for ever (it may come back), a file camera FILE_CAMERA_ATTEMPTS times (a missing file or one
     * that is not a video does not mend itself).
     */
    giveUpAfterFailures: z.number().int().min(1).optional(),
    backoff: z.strictObject({ initialSeconds: z.number().positive().default(1), maxSeconds: z.number().positive().default(60) }).default({ initialSeconds: 1, maxSeconds: 60 }),
  })
  .transform(withDefaultZones);

export const feedSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** The name of the environment variable holding the bearer token (keep tokens out of config files). */
  tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, e.g. VEIL_FEED_TOKEN').default('VEIL_FEED_TOKEN'),
  allowedOrigins: z.array(z.url({ error: 'an origin is a URL like https://ops.example.org' })).optional(),
  replayWindows: z.number().int().min(0).max(1000).default(20),
  heartbeatSeconds: z.number().positive().default(30),
  /** A camera reconnecting longer than this counts as down: /healthz answers 503 (see README, "Health"). */
  cameraDownAfterSeconds: z.number().positive().default(DEFAULT_CAMERA_DOWN_AFTER_SECONDS),
});

/**
 * Days a store keeps a window after it ended (streams/retention.ts). 400: a traffic engineer compares with the same
 * week a year before, which needs 365 + 7 days and a margin for a late look; README, "Retention", has the store's
 * size per camera-year that this costs.
 */
export const DEFAULT_RETENTION_DAYS = 400;
const RETENTION_HINT = 'a whole number of days from 1 to 36500, e.g. 400 (13 months, the default: the same week last year stays comparable)';
export const retentionDaysSchema = z
  .number({ error: RETENTION_HINT })
  .int(RETENTION_HINT)
  .min(1, RETENTION_HINT)
  .max(36_500, `${RETENTION_HINT}; a century is as good as keeping everything`)
  .default(DEFAULT_RETENTION_DAYS);

/** Publishing to a city's MQTT broker (docs/fleet.md): the broker connection plus this box's site id. */
export const siteMqttSchema = mqttConnectionSchema.safeExtend({
  /** The topic level above the camera ids (veil/v1/{site}/{camera}/…): one per box or per place, unique in the city. */
  site: z.string().regex(ID_PATTERN, 'a site id is 1–64 letters, digits, "_", "-" or "."'),
  /**
   * This box's part in a securely aggregated district total (docs/fleet.md): the district's shared settings, written
   * as in city.yaml, plus which cameras contribute and which of their lines they sum, at most linesPerBox in all
   * (pipeline/districtCameras.ts). The box id is `site`.
   */
  secureAggregation: z
    .strictObject({
      ...districtSecureAggregationShape,
      ...districtCamerasShape,
      phaseSeconds: phaseSecondsSchema.default(20),
    })
    .optional(),
});

export const siteConfigSchema = z
  .strictObject({
    stateDir: z.string().min(1).optional(),
    /** How long the release store keeps a window; an unacknowledged one in the MQTT outbox is kept regardless. */
    retentionDays: retentionDaysSchema,
    logFormat: z.enum(['text', 'json']).default('json'),
    detector: detectorSchema.prefault({}),
    feed: feedSchema.default({ host: '127.0.0.1', port: 8080, tokenEnv: 'VEIL_FEED_TOKEN', replayWindows: 20, heartbeatSeconds: 30, cameraDownAfterSeconds: DEFAULT_CAMERA_DOWN_AFTER_SECONDS }),
    cameras: z.array(cameraSchema).min(1, 'list at least one camera under `cameras:`'),
    /** Left out: the box publishes on its own feed only. */
    mqtt: refusingPasswordInFile(siteMqttSchema).optional(),
  })
  .superRefine((site, ctx) => {
    const seen = new Set<string>();
    site.cameras.forEach((camera, index) => {
      if (seen.has(camera.id)) ctx.addIssue({ code: 'custom', path: ['cameras', index, 'id'], message: `camera id "${camera.id}" is used twice: ids name budgets and feeds, so each must be unique` });
      seen.add(camera.id);
    });
    const district = site.mqtt?.secureAggregation;
    if (!district) return;
    const at = (field: string) => ['mqtt', 'secureAggregation', field];
    const problem = districtProblem(district);
    if (problem) ctx.addIssue({ code: 'custom', path: ['mqtt', 'secureAggregation'], message: problem });
    if (!district.boxes.includes(site.mqtt!.site)) ctx.addIssue({ code: 'custom', path: at('boxes'), message: `this box (mqtt.site "${site.mqtt!.site}") is not one of the district's boxes: add it, or correct mqtt.site` });
    for (const { path: field, message } of contributingCameras(district, site.cameras).problems) ctx.addIssue({ code: 'custom', path: ['mqtt', 'secureAggregation', ...field], message });
  });
export type SiteConfig = z.infer<typeof siteConfigSchema>;

/** A camera's setting (fps, zones, privacy…) written at the top of site.yaml is named as a camera's, and the reverse. */
const SITE_CONFIG: ConfigKind = {
  name: "the top level of veil run's site config",
  neighbours: [{ keys: schemaKeys(cameraSchema), name: 'each camera (under cameras:, one entry per camera)' }],
  nested: { cameras: { name: 'a camera', neighbours: [{ keys: schemaKeys(siteConfigSchema), name: "the top level of veil run's site config (for every camera)" }] } },
};

export async function readSiteConfig(file: string): Promise<SiteConfig> {
  const site = parseConfig(siteConfigSchema, await readConfigFile(file), `config ${file}`, SITE_CONFIG);
  // Relative paths are relative to the config file, as a reader of the file would expect.
  const relativeToConfig = (target: string) => path.resolve(path.dirname(file), target);
  if (site.stateDir) site.stateDir = relativeToConfig(site.stateDir);
  if (site.mqtt) site.mqtt = withTlsPathsRelativeTo(site.mqtt, path.dirname(file));
  for (const camera of site.cameras) {
    if (camera.drift?.baseline) camera.drift.baseline = relativeToConfig(camera.drift.baseline);
    if (!('file' in camera.source)) continue;
    camera.source.file = relativeToConfig(camera.source.file);
    camera.giveUpAfterFailures ??= FILE_CAMERA_ATTEMPTS;
  }
  return site;
}
