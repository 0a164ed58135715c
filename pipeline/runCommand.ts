/**
 * `veil run --config site.yaml`: the edge box's long-running job. One process supervises every camera, serves the
 * WebSocket feed, /healthz, /metrics and the dashboard on one port, and shuts down cleanly on SIGTERM/SIGINT.
 *
 * Shutdown rule: windows still open when the signal arrives are discarded, not released — a half window would be
 * published as if it were a whole one, and releasing it would spend budget on a partial count. Everything already
 * released is in the store (fsync'd by SQLite) and the ledger (write-ahead) before it was published.
 */
import path from 'node:path';
import { DETECTION_LIMITS } from '../models/cocoSsd.ts';
import { toNumber } from '../stages/privacy/rational.ts';
import { CameraStateRegistry } from '../streams/cameraState.ts';
import { describeSource } from '../streams/cameraSource.ts';
import { locateFfmpeg } from '../streams/ffmpegBinary.ts';
import { startFeedServer } from '../streams/feedServer.ts';
import { startDetectorTier } from './detectorTier.ts';
import { MODEL_CHOICES } from '../models/tiers.ts';
import { mqttClientOptions } from '../streams/mqtt/connection.ts';
import { startMqttPublisher } from '../streams/mqtt/publisher.ts';
import { openReleaseStore } from '../streams/releaseStore.ts';
import { startRetention } from '../streams/retention.ts';
import { feedSink } from '../streams/sinks/feedSink.ts';
import { releaseStoreSink } from '../streams/sinks/releaseStoreSink.ts';
import { fanOut, type WindowSink } from '../streams/sinks/sink.ts';
import { choiceFlag, parseFlags, UsageError } from './args.ts';
import { assertDetectorSettingsAgree, ConfigError } from './config.ts';
import { contributingCameras } from './districtCameras.ts';
import { startDistrictContributions } from './districtContribution.ts';
import { feedSettings } from './feedSettings.ts';
import { DriftMonitor } from './driftMonitor.ts';
import { LiveCamera } from './liveCamera.ts';
import { prepareWritableDir } from './fsProblems.ts';
import { createLogger, isoTime, type Logger } from './log.ts';
import { createVeilMetrics, recordWindowRelease } from '../streams/metrics.ts';
import { openPrivacy, type CameraRelease } from './privacySetup.ts';
import { defaultStateDir, readSiteConfig, type SiteConfig } from './siteConfig.ts';

export const RUN_HELP = `Usage: veil run --config site.yaml [options]

Supervises the cameras in the site config, publishes their private aggregates on a WebSocket feed
(GET /feed, bearer token from the environment variable named by feed.tokenEnv, default VEIL_FEED_TOKEN), and serves
/healthz, /metrics and a dashboard (/) on the same port. With an mqtt: section it also publishes them to an MQTT
broker, resending from its store whatever the broker has not acknowledged (docs/fleet.md). See the README for an
example site.yaml.

  --config FILE        the site config (YAML or JSON)
  --new-ledger         start a new privacy ledger if none exists (first run only: a missing ledger is otherwise an error)
  --accept-policy-change REASON
                       a camera's privacy settings changed: judge its past releases by the new ones, noting REASON
  --host HOST          override feed.host
  --port PORT          override feed.port (0: any free port; the log says which)
  --model TIER         override detector.model: ${MODEL_CHOICES.join(' | ')} (default auto: the most
                       accurate tier whose speed, measured at start-up, sustains every camera's fps; README)
  --model-url URL|DIR  override detector.modelUrl: other coco-ssd weights (URL to model.json or a local folder),
                       for mobilenet_v2 or with no model named
  --ffmpeg PATH        ffmpeg to use (else FFMPEG_PATH, else ffmpeg on PATH, else the bundled npm package's)
  --log-format F       text | json (default: the config's logFormat, json unless set)

Stops on SIGTERM or SIGINT at any point, within 10 s, exit code 0: open windows are discarded (see README),
clients get close code 1001.
`;

const FLAGS = {
  config: { type: 'string' },
  'new-ledger': { type: 'boolean' },
  'accept-policy-change': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  ffmpeg: { type: 'string' },
  model: { type: 'string' },
  'model-url': { type: 'string' },
  'log-format': { type: 'string' },
} as const;


/**
 * A stop must end the process within 10 s whatever it is waiting for (a model still loading, a detector thread that
 * won't finish): past this, the ledger is closed and the process exits 0. Nothing is lost by it: every release was
 * written to the ledger (synchronously) before it was published, and open windows are discarded anyway.
 */
const SHUTDOWN_DEADLINE_MS = 8_000;

/** The box's part in a securely aggregated district total (mqtt.secureAggregation), checked and connected. */
function startDistrict(site: SiteConfig, releasers: ReadonlyMap<string, CameraRelease>, configFile: string, log: Logger) {
  const mqtt = site.mqtt!;
  const settings = mqtt.secureAggregation!;
  // The site config's checks guarantee the cameras and lines exist, and no more lines than linesPerBox.
  const cameras = contributingCameras(settings, site.cameras).cameras.map((camera) => ({ ...camera, releaser: releasers.get(camera.id)! }));
  const contributions = startDistrictContributions({ box: mqtt.site, district: settings, connection: mqtt, cameras, log, where: `config ${configFile}, mqtt.secureAggregation` });
  for (const camera of cameras) {
    const release = contributions.releases.get(camera.id)!;
    log.info('contributing to a securely aggregated district total', { district: settings.district, camera: camera.id, lines: camera.lines.join(','), window_s: release.windowSeconds, epsilon: Number(release.epsilon.toPrecision(3)), share: Number(toNumber(release.share).toPrecision(3)) });
  }
  return contributions;
}

/**
 * Runs until `stop` aborts (SIGTERM/SIGINT, see pipeline/veil.mjs) and returns 0, at whatever phase the stop comes:
 * config, state directory, ledger, model load, feed, cameras. Returns 1 when every detector thread has died.
 */
export async function runCommand(argv: string[], stop: AbortSignal): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, 'run');
  if (!values.config) throw new UsageError('--config FILE is required: the site config with your cameras. See `veil run --help`.');
  const site = await readSiteConfig(values.config);
  const modelFlag = choiceFlag(values.model, 'model', MODEL_CHOICES);
  const modelUrl = values['model-url'] ?? site.detector.modelUrl;
  assertDetectorSettingsAgree(
    { model: modelFlag ?? site.detector.model, modelUrl, weights: site.detector.weights },
    {
      model: modelFlag ? '--model' : `detector.model (config ${values.config})`,
      modelUrl: values['model-url'] ? '--model-url' : `detector.modelUrl (config ${values.config})`,
      weights: `detector.weights (config ${values.config})`,
    },
  );
  const log = createLogger(choiceFlag(values['log-format'], 'log-format', ['text', 'json']) ?? site.logFormat, undefined, { timestamps: true });
  const feedOptions = feedSettings(site.feed, values);
  const stateDir = site.stateDir ?? defaultStateDir();
  const stateDirSetting = site.stateDir ? `stateDir (config ${values.config})` : 'the state directory ($XDG_STATE_HOME/veil)';
  prepareWritableDir(stateDir, stateDirSetting);
  // Before --new-ledger creates a ledger: a password variable left unset or a TLS file that can't be read is a setup
  // mistake, and a run it stops must leave nothing behind that the same command, run again, would trip over.
  if (site.mqtt) mqttClientOptions(site.mqtt, { clientId: site.mqtt.site, where: `config ${values.config}, mqtt` });

  // Whatever has been started is stopped again on the way out, whether the run ends by a signal or by an error.
  const running: Array<() => unknown> = [];
  let closeLedger = () => {};
  const onStop = () => {
    log.info('stopping', { signal: String(stop.reason) });
    setTimeout(() => {
      log.warn('shutdown is taking too long: exiting now, with the ledger closed', { after_s: SHUTDOWN_DEADLINE_MS / 1000 });
      closeLedger();
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
  };
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  try {
    if (stop.aborted) return 0;
    const privacy = openPrivacy({ stateDir, stateDirSetting, createLedger: values['new-ledger'] === true, acceptPolicyChange: values['accept-policy-change'], log });
    closeLedger = () => privacy.close();
    running.push(closeLedger);
    const releasers = new Map(
      site.cameras.map((camera) => {
        // Live windows are Unix time already, and must never go back before what was released (a clock set back).
        const releaser = privacy.releaserFor({ ...camera, source: `config ${values.config}, camera "${camera.id}"` }, { clockOffsetSeconds: 0, monotonic: true });
        if (!releaser.private) throw new ConfigError(`cameras[${camera.id}].privacy.epsilon is "off": calibration output must never be published; use \`veil eval\` for calibration`);
        return [camera.id, releaser] as const;
      }),
    );
    // Where every released window goes, in this order: the store first, because the feed replays from it and the
    // MQTT publisher sends from it. Each sink is closed on the way out, in reverse.
    const sinks: WindowSink[] = [];
    const addSink = (sink: WindowSink) => {
      sinks.push(sink);
      running.push(() => sink.close());
    };
    const store = openReleaseStore(path.join(stateDir, 'releases.sqlite'));
    addSink(releaseStoreSink(store));
    // Without a broker nothing ever acknowledges a row, so only a box that publishes keeps its outbox past retention.
    const keepUnacknowledged = site.mqtt !== undefined;
    const retention = startRetention({ store: 'release store', retentionDays: site.retentionDays, prune: (cutoff) => ({ windows: store.pruneEndedBefore(cutoff, { keepUnacknowledged }) }), log });
    running.push(() => retention.stop());
    const metrics = createVeilMetrics();
    const states = new CameraStateRegistry();
    // Before the detector loads: a missing baseline file should cost seconds.
    const drifts = new Map(
      site.cameras.flatMap((camera, index) => {
        if (!camera.drift) return [];
        const monitor = new DriftMonitor({ camera: camera.id, settings: camera.drift, releaser: releasers.get(camera.id)!, stateDir, states, metrics, log, where: `config ${values.config}, cameras[${index}]` });
        log.info('drift monitored', { camera: camera.id, window_s: monitor.windowSeconds, epsilon: Number(monitor.release.epsilon.toPrecision(3)), sd_per_bin: Number(monitor.release.standardDeviation.toPrecision(3)), threshold: camera.drift.threshold });
        return [[camera.id, monitor] as const];
      }),
    );
    if (site.mqtt) {
      // Before the detector loads: a missing password or TLS file should cost seconds, and what an earlier run left
      // unacknowledged starts draining at once.
      const mqtt = startMqttPublisher({ connection: site.mqtt, site: site.mqtt.site, cameras: site.cameras.map((camera) => camera.id), store, cameraStates: states, metrics, log, where: `config ${values.config}, mqtt` });
      addSink(mqtt);
      log.info('publishing to the MQTT broker', { url: site.mqtt.url, site: site.mqtt.site });
    }
    const district = site.mqtt?.secureAggregation ? startDistrict(site, releasers, values.config, log) : undefined;
    if (district) running.push(() => district.close());
    const ffmpeg = await locateFfmpeg(values.ffmpeg);
    log.info('ffmpeg found', { version: ffmpeg.version, via: ffmpeg.foundVia, path: ffmpeg.path });
    if (stop.aborted) return 0;
    const needFramesPerSecond = site.cameras.reduce((sum, camera) => sum + camera.fps, 0);
    const model = modelFlag ?? site.detector.model ?? 'auto';
    log.info('loading the detector', { backend: site.detector.backend, model, workers: site.detector.workers, need_fps: needFramesPerSecond });
    const { pool: detector, report: tier } = await startDetectorTier({
      detector: { backend: site.detector.backend, modelUrl, weights: site.detector.weights, ...DETECTION_LIMITS },
      model,
      workers: site.detector.workers,
      needFramesPerSecond,
      maxWidth: Math.max(...site.cameras.map((camera) => camera.maxWidth)),
      ffmpeg,
      why: `forced by ${modelFlag ? '--model' : `detector.model (config ${values.config})`}`,
      log,
    });
    running.push(() => detector.close());
    log.info('detector ready', { model: detector.description.model, backend: detector.description.backend.name, why: detector.description.backend.reason, workers: detector.workerCount, tier: tier.tier, tier_why: tier.reason });
    if (stop.aborted) return 0;

    const feed = await startFeedServer({
      ...feedOptions,
      store,
      metrics,
      cameraStates: states,
      log,
      detector: tier,
    });
    addSink(feedSink(feed));
    log.info('feed, dashboard, /healthz and /metrics listening', { url: feed.url, port: feed.port });
    if (stop.aborted) return 0;

    const publishToSinks = fanOut(sinks, log);
    const cameras = site.cameras.map((camera) => {
      log.info('camera configured', { camera: camera.id, source: describeSource(camera.source), fps: camera.fps, windows_s: releasers.get(camera.id)!.windowLengths.join(',') });
      const releaser = releasers.get(camera.id)!;
      const drift = drifts.get(camera.id);
      return new LiveCamera({ ...camera, windowLengths: releaser.windowLengths, groups: releaser.groups }, {
        ffmpeg,
        detector,
        states,
        metrics,
        log,
        release: (aggregate) => {
          const window = releaser.release(aggregate);
          district?.contribute(camera.id, aggregate, window);
          return window;
        },
        publish: (window) => {
          recordWindowRelease(metrics, window);
          publishToSinks(window);
          log.info(window.status === 'released' ? 'window released' : 'window withheld', { camera: window.camera, from: isoTime(window.startSeconds), to: isoTime(window.endSeconds), reason: window.withheldReason, epsilon_left: Number(window.privacy.budget.epsilonLeft.toPrecision(6)) });
        },
        drift,
      });
    });
    await Promise.all(cameras.map((camera) => camera.supervise(stop)));
    if (detector.liveWorkerCount === 0) {
      log.error('every detector thread has exited: stopping so that the service manager restarts Veil');
      return 1;
    }
    if (!stop.aborted) {
      log.info('every camera source has ended; still serving the feed until stopped');
      await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
    }
    return 0;
  } finally {
    stop.removeEventListener('abort', onStop);
    // The reverse of starting: the sinks that send first (the feed's clients get 1001), then the store, the ledger last.
    for (const stopPart of running.reverse()) await stopPart();
    if (stop.aborted) log.info('stopped cleanly');
  }
}
