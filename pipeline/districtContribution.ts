/**
 * A box's part in a securely aggregated district total (`mqtt.secureAggregation` in site.yaml, docs/fleet.md): for
 * each whole window of the district's length that its camera released, the box charges its ledger for the district
 * release, adds its share of the noise to its exact crossings vector and hands it to a secure-aggregation round over
 * the broker, where it leaves the box only masked (streams/mqtt/secureAggregationBox.ts).
 *
 *   const district = startDistrictContributions({ box: 'north', district, connection, camera, log, where });
 *   district.contribute(aggregate, releasedWindow);   // after the camera's own release of that window
 *   await district.close();
 *
 * Rounds run in the background: a slow or failing round never holds up the camera's frames or its own releases.
 * At each connection the box publishes, retained, the district settings it runs under (pipeline/districtSettings.ts),
 * so the aggregator can compare them with city.yaml before any round.
 */
import type { MqttClient } from 'mqtt';
import type { WindowAggregate } from '../stages/aggregates.ts';
import type { ReleasedWindow } from '../stages/released.ts';
import { crossingsVector, crossingsVectorSensitivity, prepareContribution } from '../stages/privacy/secureAggregationContribution.ts';
import { secureAggregationRoundId } from '../stages/privacy/secureAggregationMessages.ts';
import { districtRelease, type StatisticRelease } from '../stages/privacy/settings.ts';
import { MAX_CROSSINGS_PER_TRACK_PER_LINE } from '../stages/lines.ts';
import { openMqttClient, sideClientId, type MqttConnection } from '../streams/mqtt/connection.ts';
import { SecureAggregationBoxClient } from '../streams/mqtt/secureAggregationBox.ts';
import { ConfigError } from './config.ts';
import { publishDistrictSettings } from './districtSettings.ts';
import type { Logger } from './log.ts';
import type { CameraRelease } from './privacySetup.ts';
import { CROSSINGS_ROUND_STATISTIC, districtCost, districtNoise, roundParameters, type DistrictSecureAggregation } from './secureAggregationDistrict.ts';

export interface DistrictContributionOptions {
  /** This box's id in the district: its mqtt.site. */
  box: string;
  district: DistrictSecureAggregation & { phaseSeconds: number };
  /** The box's broker connection settings; the rounds get a connection of their own with a clean session. */
  connection: MqttConnection;
  camera: { id: string; lines: readonly string[]; releaser: CameraRelease };
  log: Logger;
  /** Where the settings come from, for errors: e.g. `config site.yaml, mqtt.secureAggregation`. */
  where: string;
}

export interface DistrictContributions {
  /** The district release, as the ledger charges it (its ε, share and window length). */
  readonly release: StatisticRelease;
  /**
   * Contributes `aggregate` (a whole window the camera streamed through) once the camera's own release of it,
   * `released`, is done; windows of other lengths are ignored. Never throws: a refused contribution is logged.
   */
  contribute(aggregate: WindowAggregate, released: ReleasedWindow): void;
  close(): Promise<void>;
}

/**
 * Checks the camera against the district and connects. Throws ConfigError (naming `where`) when the camera does not
 * close windows of the district's length or lacks one of its class groups, and a PrivacyConfigError when its privacy
 * plan cannot pay for the district release (stages/privacy/settings.ts, districtRelease).
 */
export function startDistrictContributions(options: DistrictContributionOptions): DistrictContributions {
  const { box, district, camera, log, where } = options;
  const { releaser } = camera;
  const { plan, ledger } = releaser;
  if (!plan.private || !ledger) throw new ConfigError(`${where}: camera "${camera.id}" publishes nothing private, so it cannot contribute`);
  if (!releaser.windowLengths.includes(district.windowSeconds)) {
    throw new ConfigError(`${where}.windowSeconds: camera "${camera.id}" closes windows of ${releaser.windowLengths.join(', ')} s, not ${district.windowSeconds} s: use one of those, or release crossings every ${district.windowSeconds} s (privacy.releases)`);
  }
  const missingGroups = district.classes.filter((group) => !(group in releaser.groups));
  if (missingGroups.length > 0) throw new ConfigError(`${where}.classes: camera "${camera.id}" counts no "${missingGroups.join('", "')}": the district's classes need privacy.breakdown: "category"`);
  const noise = districtNoise(district);
  const release = districtRelease(plan, { cost: districtCost(district), sensitivity: crossingsVectorSensitivity(district.linesPerBox, MAX_CROSSINGS_PER_TRACK_PER_LINE), windowSeconds: district.windowSeconds }, `${where}.epsilon`);

  const clientId = sideClientId(options.connection, `veil-${box}`, 'secagg');
  // A clean session: a persistent one would bring back other boxes' advertisements of rounds long over.
  const client: MqttClient = openMqttClient({ ...options.connection, clientId, persistentSession: false }, { clientId, where: where.replace(/\.secureAggregation$/, '') });
  client.on('error', (error) => log.warn('secure aggregation: broker connection error', { error: error.message }));
  // At every connection: a broker that lost its retained messages (restarted without persistence) gets them again.
  client.on('connect', () => {
    publishDistrictSettings(client, box, district).catch((error: Error) =>
      log.warn('secure aggregation: could not publish this box\'s district settings; the aggregator cannot check them', { district: district.district, error: error.message }),
    );
  });
  const rounds = SecureAggregationBoxClient.open({
    client,
    site: district.fleet,
    box,
    parameters: roundParameters(district),
    phaseTimeoutMs: district.phaseSeconds * 1000,
    log: (line) => log.warn(line),
  });
  rounds.catch((error: Error) => log.error('secure aggregation: could not join the district; this box contributes nothing', { district: district.district, error: error.message }));
  let latestEnd = -Infinity;

  return {
    release,
    contribute(aggregate, released) {
      if (aggregate.windowSeconds !== district.windowSeconds) return;
      // The camera's own live release guards the ledger's clock (monotonic); the contribution follows it on the same
      // span, so it checks the order itself instead and is never made for a window the clock refused.
      if (released.withheldReason === 'clock went backwards' || aggregate.startSeconds < latestEnd) {
        log.warn('district contribution skipped: the clock went backwards', { camera: camera.id, start: aggregate.startSeconds });
        return;
      }
      latestEnd = aggregate.endSeconds;
      const round = secureAggregationRoundId(CROSSINGS_ROUND_STATISTIC, aggregate.startSeconds, district.windowSeconds);
      let contribution;
      try {
        const exact = crossingsVector(aggregate, camera.lines, district.classes);
        contribution = prepareContribution({ ledger, camera: camera.id, policy: plan.policy, release, startSeconds: aggregate.startSeconds, endSeconds: aggregate.endSeconds, exact, noise });
      } catch (error) {
        log.error('district contribution not made', { camera: camera.id, round, reason: (error as Error).message });
        return;
      }
      if (!contribution.granted) {
        log.warn('district contribution withheld: this box stays out of the round', { camera: camera.id, round, reason: contribution.reason });
        return;
      }
      const values = contribution.values;
      void rounds
        .then((client) => client.contribute(round, values))
        .then((outcome) => {
          if (outcome.type === 'abandoned') return;
          log.info(outcome.status === 'released' ? 'district round released' : 'district round withheld', { district: district.district, round, boxes: outcome.status === 'released' ? outcome.boxes.length : undefined, reason: outcome.status === 'withheld' ? outcome.reason : undefined });
        })
        .catch((error: Error) => log.warn('district round failed: this window has no district total', { district: district.district, round, error: error.message }));
    },
    async close() {
      await rounds.then((opened) => opened.close()).catch(() => undefined);
      await client.endAsync();
    },
  };
}
