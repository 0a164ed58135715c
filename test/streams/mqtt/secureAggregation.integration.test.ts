/**
 * Secure aggregation over a real mosquitto on 127.0.0.1: four boxes and an aggregator, each with its own broker
 * connection, run rounds of the protocol. The expected sums are added up by the test from the values it gave the
 * boxes. A box is killed mid-round: it runs in its own process, SIGKILLed as soon as an observer subscribed to the
 * broker sees its shares there; other boxes are cut off by destroying their connection at the same point.
 */
import mqtt, { type MqttClient } from 'mqtt';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noiseShares, planDistributedNoise } from '../../../stages/privacy/distributedNoise.ts';
import { rational } from '../../../stages/privacy/rational.ts';
import { secureAggregationRoundId, type ResultMessage, type SecureAggregationParameters } from '../../../stages/privacy/secureAggregationMessages.ts';
import { SecureAggregationAggregatorClient } from '../../../streams/mqtt/secureAggregationAggregator.ts';
import { SecureAggregationBoxClient, type BoxRoundOutcome } from '../../../streams/mqtt/secureAggregationBox.ts';
import { secureAggregationBoxTopic } from '../../../streams/mqtt/topics.ts';
import { spawnTracked, useLiveSandbox, type TrackedChild } from '../../helpers/liveChildren.ts';
import { eventually } from '../../helpers/liveWait.ts';
import { startMosquitto, type Broker } from '../../helpers/mosquitto.ts';

const SITE = 'city';
const BOXES = ['gate-1', 'gate-2', 'market-1', 'station-1'];
const COORDINATES = 4;
// Each test runs its own district on the shared broker, so one test's clients never see another's rounds.
const parametersOf = (district: string): SecureAggregationParameters => ({ district, boxes: BOXES, threshold: 3, coordinates: COORDINATES, minimumInputs: 3 });
// Each box's noise: a crossings statistic with Δ₂² = 1 at ρ = 1/50 has σ² = 25, shared by 4 boxes tolerating one dropout.
const NOISE = planDistributedNoise({ sensitivity: { l1: 1, l2Squared: 1 }, cost: { pureEpsilon: rational(0n), zcdpRho: rational(1n, 50n) }, boxes: 4, dropoutsTolerated: 1, coordinates: COORDINATES });
// The aggregator closes a phase after this long without every box; a box gives up on a silent aggregator far later.
const AGGREGATOR_PHASE_MS = 3_000;
const BOX_PHASE_MS = 8_000;

const BOX_PROCESS = fileURLToPath(new URL('../../helpers/secureAggregationBoxProcess.ts', import.meta.url));

const sandbox = useLiveSandbox('veil-secagg-');
let broker: Broker;
const connections: MqttClient[] = [];

async function connect(clientId: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { clientId, clean: true, reconnectPeriod: 0 });
  connections.push(client);
  return client;
}

beforeAll(async () => {
  broker = await startMosquitto(path.join(sandbox(), 'broker'));
});

afterAll(async () => {
  await Promise.all(connections.map((client) => client.endAsync(true)));
  await broker?.stop();
});

interface District {
  parameters: SecureAggregationParameters;
  boxes: Map<string, { client: MqttClient; rounds: SecureAggregationBoxClient }>;
  results: ResultMessage[];
  /** What the aggregator logged, and what the boxes logged. */
  log: string[];
  /** Each box id the aggregator found two boxes advertising as, with the round. */
  copied: string[];
  boxLog: string[];
}

/** The aggregator and the in-process boxes (all of BOXES unless `inProcess` names fewer) of a district named `name`. */
async function startDistrict(name: string, inProcess: string[] = BOXES): Promise<District> {
  const parameters = parametersOf(name);
  const log: string[] = [];
  const boxLog: string[] = [];
  const results: ResultMessage[] = [];
  const copied: string[] = [];
  await SecureAggregationAggregatorClient.open({ client: await connect(`${name}-aggregator`), site: SITE, parameters, phaseTimeoutMs: AGGREGATOR_PHASE_MS, log: (line) => log.push(line), onResult: (result) => results.push(result), onCopiedBox: (box, round) => copied.push(`${box} in ${round}`) });
  const boxes = new Map<string, { client: MqttClient; rounds: SecureAggregationBoxClient }>();
  for (const box of inProcess) {
    const client = await connect(`${name}-${box}`);
    boxes.set(box, { client, rounds: await SecureAggregationBoxClient.open({ client, site: SITE, box, parameters, phaseTimeoutMs: BOX_PHASE_MS, log: (line) => boxLog.push(line) }) });
  }
  return { parameters, boxes, results, log, boxLog, copied };
}

/** Each box's counts (box i, coordinate c: 10·i + c) plus its real noise share. */
function noisedValues(): Map<string, bigint[]> {
  return new Map(BOXES.map((box, index) => [box, noiseShares(NOISE).map((noise, coordinate) => BigInt(10 * index + coordinate) + noise)]));
}

function sumOf(values: Map<string, bigint[]>, boxes: string[]): string[] {
  return Array.from({ length: COORDINATES }, (_, coordinate) => String(boxes.reduce((sum, box) => sum + values.get(box)![coordinate]!, 0n)));
}

/** Calls `act(box)` as soon as the broker delivers a victim's shares to an observer: the masks are fixed with it. */
async function afterSharing(district: District, victims: string[], observerId: string, act: (box: string) => void): Promise<void> {
  const observer = await connect(observerId);
  const topics = victims.map((box) => secureAggregationBoxTopic(SITE, district.parameters.district, 'shares', box));
  observer.on('message', (topic) => {
    const victim = victims[topics.indexOf(topic)];
    if (victim !== undefined) act(victim);
  });
  await observer.subscribeAsync(topics, { qos: 1 });
}

/** A box in its own process (test/helpers/secureAggregationBoxProcess.ts), returned once it is subscribed. */
async function startBoxProcess(district: District, box: string, round: string, values: bigint[]): Promise<TrackedChild> {
  const args = { url: broker.url, site: SITE, box, parameters: district.parameters, round, values: values.map(String), phaseTimeoutMs: BOX_PHASE_MS };
  const child = spawnTracked(process.execPath, ['--import', 'tsx', BOX_PROCESS, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.process.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await eventually(`box ${box}'s process subscribed`, 30, () => stdout.startsWith('ready\n'));
  return child;
}

/** The in-process boxes' outcomes, once the aggregator has also reported the round (it does after publishing the result). */
async function runRound(district: District, round: string, values: Map<string, bigint[]>): Promise<Map<string, BoxRoundOutcome>> {
  const outcomes = await Promise.all([...district.boxes].map(async ([box, { rounds }]) => [box, await rounds.contribute(round, values.get(box)!)] as const));
  await eventually(`the aggregator's result of round ${round}`, 10, () => district.results.some((result) => result.round === round));
  return new Map(outcomes);
}

describe('secure aggregation over mosquitto', () => {
  it('four boxes: the aggregator and every box get exactly the sum of the noised values; bad messages are refused and logged', async () => {
    const district = await startDistrict('whole');
    const intruder = await connect('intruder');
    await intruder.publishAsync(secureAggregationBoxTopic(SITE, 'whole', 'advertise', 'gate-1'), 'not json', { qos: 1 });
    await intruder.publishAsync(secureAggregationBoxTopic(SITE, 'whole', 'advertise', 'gate-1'), JSON.stringify({ type: 'advertise', round: 'r-1', box: 'gate-2', shareKey: 'AA==', maskKey: 'AA==', selfMaskCommitment: 'AA==' }), { qos: 1 });
    await intruder.publishAsync(secureAggregationBoxTopic(SITE, 'whole', 'masked', 'gate-1'), JSON.stringify({ type: 'masked', round: 'r-unknown', box: 'gate-1', values: 'AA==' }), { qos: 1 });
    // The aggregator refuses all three; the other three boxes, which read advertisements too, the two advertisements.
    await eventually('the bad messages logged', 10, () => district.log.length >= 3 && district.boxLog.length >= 6);
    expect(district.log).toEqual([
      'secure aggregation: refused a malformed message on veil/v1/city/secagg/whole/advertise/gate-1: not JSON (8 bytes)',
      'secure aggregation: refused a "advertise" naming box "gate-2" on veil/v1/city/secagg/whole/advertise/gate-1: a box speaks only for itself, on its own topic',
      'secure aggregation: refused box "gate-1"\'s "masked" for round "r-unknown", which is not open',
    ]);
    for (const box of ['gate-2', 'market-1', 'station-1']) {
      expect(district.boxLog).toContain(`secure aggregation: box "${box}" refused a message on veil/v1/city/secagg/whole/advertise/gate-1: not JSON (8 bytes)`);
      expect(district.boxLog).toContain(`secure aggregation: box "${box}" refused a message on veil/v1/city/secagg/whole/advertise/gate-1: a "advertise" naming box "gate-2"`);
    }

    const values = noisedValues();
    const round = secureAggregationRoundId('crossings', 1_764_460_800, 900);
    const outcomes = await runRound(district, round, values);
    const expected: ResultMessage = { type: 'result', status: 'released', round, sum: sumOf(values, BOXES), boxes: BOXES };
    for (const box of BOXES) expect(outcomes.get(box)).toEqual(expected);
    expect(district.results).toEqual([expected]);
  });

  it('a box killed after sharing: its masks are rebuilt from the others\' shares and the round releases the other three', async () => {
    const survivors = ['gate-1', 'gate-2', 'market-1'];
    const district = await startDistrict('killed', survivors);
    const values = noisedValues();
    const round = secureAggregationRoundId('crossings', 1_764_461_700, 900);
    const victim = await startBoxProcess(district, 'station-1', round, values.get('station-1')!);
    await afterSharing(district, ['station-1'], 'killed-observer', () => void victim.kill());
    const outcomes = await runRound(district, round, values);
    expect((await victim.exited).signal).toBe('SIGKILL');
    const expected: ResultMessage = { type: 'result', status: 'released', round, sum: sumOf(values, survivors), boxes: survivors };
    expect(district.results).toEqual([expected]);
    for (const box of survivors) expect(outcomes.get(box)).toEqual(expected);
  });

  it('two boxes cut off: fewer inputs than the noise needs, so the round is withheld and no sum is published', async () => {
    const district = await startDistrict('withheld');
    await afterSharing(district, ['gate-2', 'station-1'], 'withheld-observer', (box) => district.boxes.get(box)!.client.end(true));
    const round = secureAggregationRoundId('crossings', 1_764_462_600, 900);
    const outcomes = await runRound(district, round, noisedValues());
    const expected: ResultMessage = { type: 'result', status: 'withheld', round, reason: '2 of 4 boxes answered phase "masked"; 3 needed; no answer from gate-2, station-1' };
    expect(district.results).toEqual([expected]);
    expect(outcomes.get('gate-1')).toEqual(expected);
    expect(outcomes.get('market-1')).toEqual(expected);
    expect(district.log).toContain(`secure aggregation: round "${round}" of district "withheld" withheld: 2 of 4 boxes answered phase "masked"; 3 needed; no answer from gate-2, station-1`);
  });

  it('two boxes running as gate-2 (a copied site.yaml): neither copy\'s input is summed, the others\' is released, the copy is reported', async () => {
    const district = await startDistrict('copied');
    // A second box with gate-2's id on a connection of its own, as a copied site.yaml with another client id.
    const copyClient = await connect('copied-gate-2-copy');
    const copy = await SecureAggregationBoxClient.open({ client: copyClient, site: SITE, box: 'gate-2', parameters: district.parameters, phaseTimeoutMs: BOX_PHASE_MS, log: (line) => district.boxLog.push(line) });
    const round = secureAggregationRoundId('crossings', 1_764_463_500, 900);
    const values = noisedValues();
    const [outcomes, copyOutcome] = await Promise.all([runRound(district, round, values), copy.contribute(round, values.get('gate-2')!.map((value) => value + 1000n))]);
    const others = ['gate-1', 'market-1', 'station-1'];
    const expected: ResultMessage = { type: 'result', status: 'released', round, sum: sumOf(values, others), boxes: others };
    expect(district.results).toEqual([expected]);
    for (const box of others) expect(outcomes.get(box)).toEqual(expected);
    expect(district.copied).toEqual([`gate-2 in ${round}`]);
    // Neither copy takes the result for its own: both leave the round.
    expect(outcomes.get('gate-2')).toMatchObject({ type: 'abandoned' });
    expect(copyOutcome).toMatchObject({ type: 'abandoned' });
  });
});
