/**
 * Veil's configuration: what to analyse (zones, lines, rates, windows), with which detector, and for `veil run` which
 * cameras and which feed. Everything that comes from a file or a flag passes through these zod schemas, and a bad
 * value is reported with its path in the file, the value and the fix.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import didYouMean from 'didyoumean2';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BACKEND_CHOICES } from '../models/backend.ts';
import { BUNDLED_WEIGHTS, type BundledWeights } from '../models/cocoSsd.ts';
import { MODEL_CHOICES, type ModelChoice } from '../models/tiers.ts';
import { UsageError } from './args.ts';
import { reasonInWords } from './fsProblems.ts';
import { COUNTED_CLASSES } from '../models/detection.ts';
import { countingLineSchema, type CountingLine } from '../stages/lines.ts';
import { motionGateSchema } from '../stages/motion.ts';
import { WHOLE_FRAME_ZONE, zoneSchema, type Zone } from '../stages/zones.ts';
import { orientationSchema } from '../streams/orientation.ts';


function uniqueNames(items: ReadonlyArray<{ name: string }>, context: z.RefinementCtx, what: string) {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: `two ${what} are named "${item.name}": give each a unique name` });
    seen.add(item.name);
  });
}

/** Settings of the analysis itself, shared by batch runs and each live camera. */
export const analysisShape = {
  /** Frames per second of stream time given to the detector; 2–10 is what the tracker is tuned for. */
  fps: z.number().positive('fps is the number of frames analysed per second of video, e.g. 5 (2–10 is typical)').max(30, 'analysing more than 30 frames/s adds nothing; 2–10 is typical').default(5),
  /** Frames are scaled down to this width inside ffmpeg; the detector works at 300×300 anyway. */
  maxWidth: z.number().int().min(160, 'maxWidth is a width in pixels, at least 160 (default 640)').max(3840, 'maxWidth above 3840 px only costs time: the detector works at 300×300').default(640),
  /**
   * One window length for every released statistic. Left out, each statistic gets the length its readers expect
   * (stages/privacy/settings.ts: crossings per 15 min, occupancy per minute) unless `privacy.releases` says.
   */
  windowSeconds: z.number().positive('the window length is in seconds and must be positive').optional(),
  /** Left out: the whole frame, unless lines are configured (a line-only config releases no occupancy). */
  zones: z.array(zoneSchema).superRefine((zones, ctx) => uniqueNames(zones, ctx, 'zones')).optional(),
  /** A camera mounted sideways or upside down: how to turn its picture upright before detection (docs/counting-lines.md). */
  orientation: orientationSchema.optional(),
  lines: z.array(countingLineSchema).superRefine((lines, ctx) => uniqueNames(lines, ctx, 'lines')).default([]),
  classes: z.array(z.enum(COUNTED_CLASSES)).min(1, 'count at least one class').default([...COUNTED_CLASSES]),
  /**
   * A detection at or above this score counts (and may start a track); below it only keeps an existing track alive.
   * 0.4, not coco-ssd's 0.5: vehicles seen from behind and small pedestrians often score 0.4–0.5 (motorway clip:
   * 17 → 21 of ~22 counted by hand) while the overpass (28 of 27 ± 2) and indoor counts (6 of 6 instants) hold.
   */
  scoreThreshold: z.number().min(0.15, 'the score threshold must be at least 0.15: detections from 0.1 up to it keep tracks alive').max(0.95).default(0.4),
  /** Skips the detector while the picture is still (stages/motion.ts, docs/frugality.md). */
  motionGate: motionGateSchema.prefault({}),
};

/**
 * Fills in the zones: the whole frame when neither zones nor lines are configured, none when only lines are. A config
 * with an explicit `zones: []` and no lines has nothing to count, and is refused naming both fields.
 */
export function withDefaultZones<T extends { zones?: Zone[]; lines: CountingLine[] }>(config: T, context: z.RefinementCtx): T & { zones: Zone[] } {
  const zones = config.zones ?? (config.lines.length > 0 ? [] : [WHOLE_FRAME_ZONE]);
  if (zones.length === 0 && config.lines.length === 0) {
    context.addIssue({ code: 'custom', path: ['zones'], message: 'nothing to count: configure at least one zone or one counting line (lines)' });
  }
  return { ...config, zones };
}

export const detectorSchema = z.strictObject({
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  /**
   * Which detector tier (models/tiers.ts), or `auto`: the most accurate one whose speed, measured at start-up,
   * sustains the cameras' frames (pipeline/detectorTier.ts). Left out: `auto` for `veil run`, lite_mobilenet_v2 for a
   * recorded clip (batch, eval), which waits for the detector and whose counts should not depend on the machine.
   */
  model: z.enum(MODEL_CHOICES).optional(),
  /** coco-ssd's loading path for other weights: an http(s) URL to model.json or a local folder. */
  modelUrl: z.string().min(1).optional(),
  /** The bundled lite weights as published (float32) or quantised to uint8 (docs/frugality.md); ignored with modelUrl and by other tiers. */
  weights: z.enum(BUNDLED_WEIGHTS).default('float32'),
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(16)]).default('auto'),
});

/** How a command names `detector.model`, `detector.modelUrl` and `detector.weights` (flag and key), for its errors. */
export interface DetectorSettingNames {
  model: string;
  modelUrl: string;
  weights: string;
}

/**
 * Refuses detector settings that the tier would otherwise ignore without a word: `weights: uint8` re-encodes the
 * bundled lite_mobilenet_v2 weights only (not CenterNet's, not mobilenet_v2's, not weights from `modelUrl`), and
 * `modelUrl` replaces coco-ssd weights: those of mobilenet_v2, or with no model named, any coco-ssd model loaded as it
 * is. `model` is the tier as given (undefined when left out). Throws a UsageError naming both settings (`names`) and
 * what each applies to.
 */
export function assertDetectorSettingsAgree(detector: { model?: ModelChoice; modelUrl?: string; weights: BundledWeights }, names: DetectorSettingNames): void {
  const { model, modelUrl, weights } = detector;
  const uint8Applies = `${names.weights} uint8 applies to lite_mobilenet_v2 only (its bundled weights, quantised)`;
  const urlApplies = `${names.modelUrl} applies to mobilenet_v2 only (other weights for it), or, with no ${names.model}, to any coco-ssd weights loaded as they are`;
  if (weights === 'uint8' && (model === 'centernet' || model === 'mobilenet_v2')) throw new UsageError(`${uint8Applies}, but ${names.model} is ${model}: leave one of the two out`);
  if (weights === 'uint8' && modelUrl !== undefined) throw new UsageError(`${uint8Applies}, and ${names.modelUrl} loads other weights instead: leave one of the two out`);
  if (modelUrl !== undefined && model !== undefined && model !== 'mobilenet_v2') throw new UsageError(`${urlApplies}, but ${names.model} is ${model}: leave one of the two out`);
}

/** Reads a JSON or YAML file (by extension; YAML is a superset of JSON, so anything else is parsed as YAML). */
export async function readConfigFile(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`config file ${file} could not be read (${error.code === 'ENOENT' ? 'no such file' : reasonInWords(error)}): check the path`);
  });
  try {
    return path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid ${path.extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
}

export class ConfigError extends Error {}

function formatPath(issuePath: readonly PropertyKey[]): string {
  return issuePath.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');
}

function valueAt(input: unknown, issuePath: readonly PropertyKey[]): unknown {
  return issuePath.reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined), input);
}

/** The keys an object schema accepts, through a transform or a pipe (cameraSchema fills in zones by one). */
export function schemaKeys(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodPipe) return schemaKeys(schema.in as z.ZodType);
  throw new TypeError('schemaKeys: expected an object schema, or one piped into a transform');
}

/**
 * Another command's config, whose keys a person may write into the wrong file (`retentionDays` of site.yaml in a
 * batch config): its top-level keys (schemaKeys) and its name for messages, e.g. "veil run's site config (site.yaml)".
 */
export interface NeighbourConfig {
  keys: readonly string[];
  name: string;
}

export interface ConfigKind {
  /** This config's name for messages, e.g. "the clip config of veil batch and veil eval". */
  name: string;
  /** Configs of other commands (or other levels of this one) whose keys are named as theirs rather than as unknown. */
  neighbours: readonly NeighbourConfig[];
  /** The same for an object inside this one, by its key (list indexes skipped): e.g. cameras → one camera. */
  nested?: Readonly<Record<string, ConfigKind>>;
}

/** The kind of the object at `issuePath` inside one of kind `top`, if it is described. */
function kindAt(top: ConfigKind | undefined, issuePath: readonly PropertyKey[]): ConfigKind | undefined {
  return issuePath.reduce<ConfigKind | undefined>((kind, key) => (typeof key === 'number' ? kind : kind?.nested?.[String(key)]), top);
}

/**
 * The keys the object at `issuePath` inside `schema` accepts, looking through optional, default, pipe and list
 * levels; [] where the path leads elsewhere (a union, a record).
 */
function keysAt(schema: z.ZodType, issuePath: readonly PropertyKey[]): string[] {
  let at: z.core.$ZodType | undefined = schema;
  const unwrap = (type: z.core.$ZodType): z.core.$ZodType => {
    const def = type._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType) return unwrap(def.innerType);
    if (def.type === 'pipe' && def.in) return unwrap(def.in);
    return type;
  };
  for (const key of issuePath) {
    const def = unwrap(at!)._zod.def as { type: string; element?: z.core.$ZodType; shape?: Record<string, z.core.$ZodType> };
    at = typeof key === 'number' ? def.element : def.shape?.[String(key)];
    if (!at) return [];
  }
  const def = unwrap(at!)._zod.def as { shape?: Record<string, unknown> };
  return def.shape ? Object.keys(def.shape) : [];
}

/**
 * One line per unknown key: a key of a neighbouring config says whose it is and what to do; any other is a typo,
 * with the accepted key it most resembles (didyoumean2: Levenshtein similarity at least 0.4, its default) if one does.
 */
function unknownKeyLines(issue: z.core.$ZodIssueUnrecognizedKeys, schema: z.ZodType, top: ConfigKind | undefined): string[] {
  const kind = kindAt(top, issue.path);
  const accepted = keysAt(schema, issue.path);
  return issue.keys.map((key) => {
    const where = formatPath([...issue.path, key]);
    const homes = (kind?.neighbours ?? []).filter((neighbour) => neighbour.keys.includes(key)).map((neighbour) => neighbour.name);
    const meant = didYouMean(key, accepted);
    if (homes.length === 0 && meant !== null) return `  ${where}: unknown setting: did you mean ${formatPath([...issue.path, meant])}?`;
    if (homes.length === 0) return `  ${where}: unknown setting: check its spelling${kind ? ` against ${kind.name} (README)` : ''}`;
    return `  ${where}: belongs to ${homes.join(' and to ')}, not to ${kind!.name}, where it would do nothing: set it there, or remove it here`;
  });
}

/**
 * Validates `input`; on failure throws a ConfigError listing each bad field, its value and what to do. With `kind`,
 * an unknown key that belongs to a neighbouring config (at the top level, or in an object `kind.nested` describes)
 * is named as that config's (which file, which command, what to do).
 */
export function parseConfig<T extends z.ZodType>(schema: T, input: unknown, source: string, kind?: ConfigKind): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return unknownKeyLines(issue, schema, kind);
    const where = formatPath(issue.path) || '(top level)';
    const value = valueAt(input, issue.path);
    // zod says "expected number, received undefined" of a required setting left out: a person reads "missing".
    if (value === undefined && issue.code === 'invalid_type') return [`  ${where}: missing: this setting is required (${issue.expected})`];
    if (value === undefined) return [`  ${where}: ${issue.message}`];
    const shown = JSON.stringify(value);
    return [`  ${where}: ${issue.message} (got ${shown && shown.length > 80 ? `${shown.slice(0, 77)}...` : shown})`];
  });
  throw new ConfigError(`${source} has ${lines.length === 1 ? 'an invalid setting' : `${lines.length} invalid settings`}:\n${lines.join('\n')}`);
}
