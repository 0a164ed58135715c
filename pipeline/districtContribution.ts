/**
 * A box's part in a securely aggregated district total (`mqtt.secureAggregation` in site.yaml, docs/fleet.md): for
 * each whole window of the district's length that every contributing camera released, the box charges each of those
 * cameras' ledgers for the district release, adds its share of the noise to the sum of their exact crossings vectors
 * and hands it to a secure-aggregation round over the broker, where it leaves the box only masked
 * (streams/mqtt/secureAggregationBox.ts).
 *
 *   const district = startDistrictContributions({ box: 'north', district, connection, cameras, log, where });
 *   district.contribute('road', aggregate, releasedWindow);   // after the camera's own release of that window
 *   await district.close();
 *
 * A box with several contributing cameras contributes a window only once all of them have closed it (streamed
 * through it whole). When one has not by the time any of them closes a later window, it was down or cut into: the box
 * sits that round out rather than send a total that silently lacks a camera (to the district the box is a dropout,
 * named missing on the total). A camera that stays down would have it sit out every round: the log says so when an
 * episode starts (with the cameras missing, again if they change) and once when every camera is back. Cameras of one box share its clock and never build a
 * backlog, so a camera that streamed through a window has closed it long before the next one ends.
 *
 * Rounds run in the background: a slow or failing round never holds up the cameras' frames or their own releases.
 * At each connection the box publishes, retained, the district settings it runs under (pipeline/districtSettings.ts),
 * so the aggregator can compare them with city.yaml before any round; which cameras contribute is not among them.
 */
import type { MqttClient } from 'mqtt';
import type { WindowAggregate } from '../stages/aggregates.ts';
import type { ReleasedWindow } from '../stages/released.ts';
import { crossingsVector, crossingsVectorSensitivity, prepareContribution, type ContributingCamera } from '../stages/privacy/secureAggregationContribution.ts';
import { secureAggregationRoundId } from '../stages/privacy/secureAggregationMessages.ts';
import { districtRelease, type StatisticRelease } from '../stages/privacy/settings.ts';
import { MAX_CROSSINGS_PER_TRACK_PER_LINE } from '../stages/lines.ts';
import { openMqttClient, reportBrokerProblems, sideClientId, type MqttConnection } from '../streams/mqtt/connection.ts';
import { SecureAggregationBoxClient } from '../streams/mqtt/secureAggregationBox.ts';
import { reportTakeovers } from '../streams/mqtt/takeoverWatch.ts';
import { ConfigError } from './config.ts';
import { publishDistrictSettings } from './districtSettings.ts';
import type { Logger } from './log.ts';
import type { CameraRelease } from './privacySetup.ts';
import { CROSSINGS_ROUND_STATISTIC, districtCost, districtNoise, roundParameters, type DistrictSecureAggregation } from './secureAggregationDistrict.ts';

/** A contributing camera: its id, the lines of it the box sums, and its own releases (plan and ledger). */
export interface DistrictCamera {
  id: string;
  lines: readonly string[];
  releaser: CameraRelease;
}

export interface DistrictContributionOptions {
  /** This box's id in the district: its mqtt.site. */
  box: string;
  district: DistrictSecureAggregation & { phaseSeconds: number };
  /** The box's broker connection settings; the rounds get a connection of their own with a clean session. */
  connection: MqttConnection;
  /** The contributing cameras (pipeline/districtCameras.ts), at least one; all charged to the box's one ledger. */
  cameras: readonly DistrictCamera[];
  log: Logger;
  /** Where the settings come from, for errors: e.g. `config site.yaml, mqtt.secureAggregation`. */
  where: string;
}

export interface DistrictContributions {
  /** The district release as each camera's ledger charges it (its ε, its share of that camera's ε, window length), by camera id. */
  readonly releases: ReadonlyMap<string, StatisticRelease>;
  /**
   * Hands over `aggregate`, a whole window camera `camera` streamed through, once the camera's own release of it,
   * `released`, is done; windows of other lengths and cameras that do not contribute are ignored. The box contributes
   * the window when every contributing camera has handed it over. Never throws: a refused contribution is logged.
   */
  contribute(camera: string, aggregate: WindowAggregate, released: ReleasedWindow): void;
  close(): Promise<void>;
}

/**
 * Checks each camera against the district and connects. Throws ConfigError (naming `where` and the camera) when a
 * camera publishes nothing private, does not close windows of the district's length or lacks one of its class groups,
 * and a PrivacyConfigError when a camera's privacy plan cannot pay for the district release (stages/privacy/settings.ts,
 * districtRelease). The release's sensitivity is (L·m)² with L = linesPerBox, which bounds the lines summed over all
 * the cameras (pipeline/districtCameras.ts checks it) and m = MAX_CROSSINGS_PER_TRACK_PER_LINE.
 */
export function startDistrictContributions(options: DistrictContributionOptions): DistrictContributions {
  const { box, district, log, where } = options;
  const sensitivity = crossingsVectorSensitivity(district.linesPerBox, MAX_CROSSINGS_PER_TRACK_PER_LINE);
  const cameras = options.cameras.map(({ id, lines, releaser }) => {
    const { plan, ledger } = releaser;
    if (!plan.private || !ledger) throw new ConfigError(`${where}: camera "${id}" publishes nothing private, so it cannot contribute`);
    if (!releaser.windowLengths.includes(district.windowSeconds)) {
      throw new ConfigError(`${where}.windowSeconds: camera "${id}" closes windows of ${releaser.windowLengths.join(', ')} s, not ${district.windowSeconds} s: use one of those, or release crossings every ${district.windowSeconds} s (privacy.releases)`);
    }
    const missingGroups = district.classes.filter((group) => !(group in releaser.groups));
    if (missingGroups.length > 0) throw new ConfigError(`${where}.classes: camera "${id}" counts no "${missingGroups.join('", "')}": the district's classes need privacy.breakdown: "category"`);
    const release = districtRelease(plan, { cost: districtCost(district), sensitivity, windowSeconds: district.windowSeconds }, `${where}.epsilon (camera "${id}")`);
    const charge: ContributingCamera = { camera: id, policy: plan.policy, release };
    return { id, lines, ledger, charge };
  });
  const ledger = cameras[0]!.ledger;
  // Ledger.spendAll charges every camera or none only within one ledger; a box keeps all its cameras in one.
  if (cameras.some((camera) => camera.ledger !== ledger)) throw new Error('the contributing cameras must share the box\'s one privacy ledger');
  const noise = districtNoise(district);

  const clientId = sideClientId(options.connection, `veil-${box}`, 'secagg');
  // A clean session: a persistent one would bring back other boxes' advertisements of rounds long over.
  const connectionWhere = where.replace(/\.secureAggregation$/, '');
  const client: MqttClient = openMqttClient({ ...options.connection, clientId, persistentSession: false }, { clientId, where: connectionWhere });
  reportBrokerProblems(client, connectionWhere, (problem) => log.error('secure aggregation: broker unreachable or refusing this box', { problem }));
  reportTakeovers(client, { reconnectSeconds: options.connection.reconnectSeconds, clientId, where: connectionWhere, site: box }, (problem) => log.error('secure aggregation: connection taken over', { problem }));
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
  // Per camera: the end of the latest window it handed over (live windows never go back).
  const latestEnd = new Map<string, number>();
  // Windows some but not yet all cameras have handed over: start → camera → its window.
  const pending = new Map<number, Map<string, WindowAggregate>>();
  // The episode of rounds this box sits out: the cameras missing ("road,bridge") and how many rounds so far.
  let sittingOut: { missing: string; rounds: number } | undefined;
  const roundOf = (startSeconds: number) => secureAggregationRoundId(CROSSINGS_ROUND_STATISTIC, startSeconds, district.windowSeconds);

  /** Charges every camera for the window (all or none) and hands the noised sum of their vectors to its round. */
  const submit = (windows: ReadonlyMap<string, WindowAggregate>, startSeconds: number, endSeconds: number) => {
    const round = roundOf(startSeconds);
    let contribution;
    try {
      const exact = crossingsVector(cameras.map(({ id, lines }) => ({ aggregate: windows.get(id)!, lines })), district.classes);
      contribution = prepareContribution({ ledger, cameras: cameras.map(({ charge }) => charge), startSeconds, endSeconds, exact, noise });
    } catch (error) {
      log.error('district contribution not made', { cameras: cameras.map(({ id }) => id).join(','), round, reason: (error as Error).message });
      return;
    }
    if (!contribution.granted) {
      log.warn('district contribution withheld: this box stays out of the round', { camera: contribution.camera, round, reason: contribution.reason });
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
  };

  return {
    releases: new Map(cameras.map(({ id, charge }) => [id, charge.release])),
    contribute(camera, aggregate, released) {
      if (aggregate.windowSeconds !== district.windowSeconds || !cameras.some(({ id }) => id === camera)) return;
      // The camera's own live release guards the ledger's clock (monotonic); the contribution follows it on the same
      // span, so it checks the order itself instead and is never made for a window the clock refused.
      if (released.withheldReason === 'clock went backwards' || aggregate.startSeconds < (latestEnd.get(camera) ?? -Infinity)) {
        log.warn('district contribution skipped: the clock went backwards', { camera, start: aggregate.startSeconds });
        return;
      }
      latestEnd.set(camera, aggregate.endSeconds);
      // An earlier window still waiting for a camera will not get it now (see the module's docstring).
      for (const [startSeconds, windows] of pending) {
        if (startSeconds >= aggregate.startSeconds) continue;
        pending.delete(startSeconds);
        const missing = cameras.filter(({ id }) => !windows.has(id)).map(({ id }) => id).join(',');
        if (sittingOut?.missing === missing) {
          sittingOut.rounds += 1;
          continue;
        }
        sittingOut = { missing, rounds: 1 };
        log.warn('district contribution withheld: a contributing camera did not stream through the window; this box sits the round out, and every round until it does', { round: roundOf(startSeconds), missing });
      }
      const windows = pending.get(aggregate.startSeconds) ?? new Map<string, WindowAggregate>();
      windows.set(camera, aggregate);
      if (windows.size < cameras.length) {
        pending.set(aggregate.startSeconds, windows);
        return;
      }
      pending.delete(aggregate.startSeconds);
      if (sittingOut) {
        log.info('district contribution resumed: every contributing camera streamed through the window again', { round: roundOf(aggregate.startSeconds), rounds_sat_out: sittingOut.rounds });
        sittingOut = undefined;
      }
      submit(windows, aggregate.startSeconds, aggregate.endSeconds);
    },
    async close() {
      await rounds.then((opened) => opened.close()).catch(() => undefined);
      await client.endAsync();
    },
  };
}
