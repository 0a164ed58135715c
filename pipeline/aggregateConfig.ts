/**
 * The city config of `veil aggregate`: the broker it subscribes to, where it keeps its store, the feed it serves and
 * the districts it totals. See docs/fleet.md, "The city aggregator".
 *
 *   broker: { url: mqtts://broker.city.example:8883, username: city, passwordEnv: VEIL_MQTT_PASSWORD, clientId: veil-city }
 *   stateDir: /var/lib/veil-city
 *   feed: { port: 8090 }
 *   districts:
 *     - name: old-town
 *       cameras:
 *         - north/gate                                   # every line and zone of camera "gate" of site "north"
 *         - { camera: north/yard, lines: [into-town] }   # only this line (and no zone)
 */
import path from 'node:path';
import { z } from 'zod';
import { mqttConnectionSchema, refusingPasswordInFile, withTlsPathsRelativeTo } from '../streams/mqtt/connection.ts';
import { ID_PATTERN } from '../streams/mqtt/topics.ts';
import { parseConfig, readConfigFile, schemaKeys, type ConfigKind } from './config.ts';
import type { District } from './districtTotals.ts';
import { districtProblem, districtSecureAggregationShape, phaseSecondsSchema } from './secureAggregationDistrict.ts';
import { cameraSchema, feedSchema, retentionDaysSchema, siteConfigSchema } from './siteConfig.ts';

/** The client id the aggregator's persistent session lives under unless the broker section names one. */
export const DEFAULT_AGGREGATOR_CLIENT_ID = 'veil-aggregate';

const idSource = ID_PATTERN.source.slice(1, -1);
const fleetCameraId = z
  .string()
  .regex(new RegExp(`^${idSource}/${idSource}$`), 'a camera is named "site/camera", e.g. north/gate (each 1–64 letters, digits, "_", "-" or ".")');
const names = z.array(z.string().min(1)).superRefine((list, ctx) => {
  if (new Set(list).size !== list.length) ctx.addIssue({ code: 'custom', message: 'a name is listed twice' });
});

const memberSchema = z.union([
  fleetCameraId.transform((camera) => ({ camera })),
  z.strictObject({
    camera: fleetCameraId,
    /** The camera's lines whose crossings count; left out, all of them; [] none. */
    lines: names.optional(),
    /** The camera's zones whose occupancy counts; left out, all of them; [] none. */
    zones: names.optional(),
  }),
]);

const districtSchema = z.strictObject({
  name: z.string().regex(/^[\w .-]{1,64}$/, 'a district name is 1–64 letters, digits, spaces, "_", "-" or "."'),
  /** The cameras whose released windows are summed; may be left out for a district totalled by secure aggregation only. */
  cameras: z.array(memberSchema).default([]),
  /** A crossings total per window by secure aggregation of these boxes' contributions (docs/fleet.md). */
  secureAggregation: z.strictObject({ ...districtSecureAggregationShape, phaseSeconds: phaseSecondsSchema.default(10) }).optional(),
});

export const aggregateConfigSchema = z
  .strictObject({
    broker: refusingPasswordInFile(mqttConnectionSchema),
    /** Where the aggregator's store (fleet.sqlite) lives; relative to the config file. */
    stateDir: z.string().min(1, 'stateDir is the folder of the aggregator\'s store'),
    /** How long the store keeps a window and a securely aggregated total after it ended. */
    retentionDays: retentionDaysSchema,
    logFormat: z.enum(['text', 'json']).default('json'),
    feed: feedSchema.prefault({}),
    /** District totals replayed to a feed client when it connects, per district (as replayWindows is per camera). */
    districtReplayWindows: z.number().int().min(0).max(1000).default(20),
    districts: z.array(districtSchema).default([]),
  })
  .superRefine((city, ctx) => {
    if (!city.broker.persistentSession) {
      ctx.addIssue({ code: 'custom', path: ['broker', 'persistentSession'], message: 'the aggregator needs a persistent session: without it, windows published while it is down are lost' });
    }
    const seen = new Set<string>();
    const secureIds = new Set<string>();
    city.districts.forEach((district, index) => {
      if (seen.has(district.name)) ctx.addIssue({ code: 'custom', path: ['districts', index, 'name'], message: `district "${district.name}" is named twice` });
      seen.add(district.name);
      if (district.cameras.length === 0 && !district.secureAggregation) ctx.addIssue({ code: 'custom', path: ['districts', index, 'cameras'], message: `a district needs at least one camera, or a secureAggregation section (district "${district.name}")` });
      const secure = district.secureAggregation;
      if (secure) {
        const problem = districtProblem(secure);
        if (problem) ctx.addIssue({ code: 'custom', path: ['districts', index, 'secureAggregation'], message: problem });
        if (secureIds.has(`${secure.fleet}/${secure.district}`)) ctx.addIssue({ code: 'custom', path: ['districts', index, 'secureAggregation', 'district'], message: `secure-aggregation district "${secure.district}" is used by two districts: their rounds would mix` });
        secureIds.add(`${secure.fleet}/${secure.district}`);
      }
      const cameras = district.cameras.map((member) => member.camera);
      cameras.forEach((camera, at) => {
        if (cameras.indexOf(camera) !== at) ctx.addIssue({ code: 'custom', path: ['districts', index, 'cameras', at], message: `camera ${camera} is listed twice in district "${district.name}": it would be counted twice` });
      });
    });
  });
export type AggregateConfig = z.output<typeof aggregateConfigSchema> & { districts: District[] };

/** A box's setting (cameras, mqtt) or a camera's written into city.yaml is named as theirs. */
const CITY_CONFIG: ConfigKind = {
  name: "veil aggregate's city config",
  neighbours: [
    { keys: schemaKeys(siteConfigSchema), name: "veil run's site config (site.yaml, top level)" },
    { keys: schemaKeys(cameraSchema), name: "a camera of veil run's site config (site.yaml, under cameras:)" },
  ],
};

/** Reads and checks a city config; paths (stateDir, TLS files) are relative to the config file. Throws ConfigError. */
export async function readAggregateConfig(file: string): Promise<AggregateConfig> {
  const city = parseConfig(aggregateConfigSchema, await readConfigFile(file), `config ${file}`, CITY_CONFIG);
  const folder = path.dirname(file);
  return { ...city, stateDir: path.resolve(folder, city.stateDir), broker: withTlsPathsRelativeTo(city.broker, folder) };
}
