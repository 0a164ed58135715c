/**
 * The MQTT sink against a real mosquitto (test/helpers/mosquitto.ts) on 127.0.0.1, with a real release store on disk
 * and a real subscriber: what a city's broker sees of one box, through a broker crash and a restart of the box.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVeilMetrics } from '../../streams/metrics.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import { mqttConnectionSchema } from '../../streams/mqtt/connection.ts';
import { startMqttPublisher } from '../../streams/mqtt/publisher.ts';
import { windowId } from '../../streams/mqtt/windowId.ts';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { releaseStoreSink } from '../../streams/sinks/releaseStoreSink.ts';
import { fanOut } from '../../streams/sinks/sink.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { eventually } from '../helpers/liveWait.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { watchBroker } from '../helpers/mqttWatcher.ts';
import { recordingLogger } from './feedFixtures.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

const sandbox = useLiveSandbox('veil-mqtt-publisher-');
const SITE = 'north';

/** The first copy of each window, in the order the copies arrived: what an idempotent subscriber keeps. */
function firstCopies(windows: ReleasedWindow[]): ReleasedWindow[] {
  const seen = new Set<string>();
  return windows.filter((window) => {
    const id = windowId(SITE, window);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

async function gauge(metric: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }, camera: string) {
  return (await metric.get()).values.find((value) => (value.labels as { camera?: string }).camera === camera)?.value;
}

describe('the MQTT publisher with a real mosquitto', () => {
  it('delivers every stored window once or more, in order, across a broker crash and a restart of the box', async () => {
    const broker = await startMosquitto(path.join(sandbox(), 'broker'));
    const city = await watchBroker(broker.url, 'city-aggregator', { persistent: true });
    const store = openReleaseStore(path.join(sandbox(), 'box', 'releases.sqlite'));
    const states = new CameraStateRegistry();
    const metrics = createVeilMetrics();
    const log = recordingLogger();
    const connection = mqttConnectionSchema.parse({ url: broker.url, reconnectSeconds: 0.2, keepaliveSeconds: 2 });
    const startBox = () => {
      const mqtt = startMqttPublisher({ connection, site: SITE, cameras: ['gate'], store, cameraStates: states, metrics, log, where: 'test config, mqtt' });
      return { mqtt, publish: fanOut([releaseStoreSink(store), mqtt], log) };
    };
    const expected = Array.from({ length: 7 }, (_, index) => releasedWindow({ camera: 'gate', index }));

    let box = startBox();
    states.set('gate', 'streaming');
    for (const window of expected.slice(0, 3)) box.publish(window);
    await eventually('the first three windows at the city', 20, () => city.windows('gate').length >= 3);
    expect(await gauge(metrics.mqttWindowsPending, 'gate')).toBe(0);

    await broker.kill();
    await eventually('the box to notice the broker is gone', 20, async () => (await gauge(metrics.mqttConnected, 'gate')) === 0);
    for (const window of expected.slice(3, 6)) box.publish(window);
    expect(box.mqtt.pending('gate')).toBe(3);
    expect(await gauge(metrics.mqttWindowsPending, 'gate')).toBe(3);
    // The box is stopped while the broker is still down: the three windows exist only in its release store.
    await box.mqtt.close();

    await broker.restart();
    box = startBox();
    box.publish(expected[6]!);
    await eventually('all seven windows at the city', 30, () => firstCopies(city.windows('gate')).length === 7);
    await eventually('the box to hold nothing unacknowledged', 10, () => box.mqtt.pending('gate') === 0);

    const received = city.windows('gate');
    expect(firstCopies(received)).toEqual(expected);
    // A copy (the PUBACK lost in the crash) is the same window under the same id, so the city can drop it.
    for (const window of received) expect(window).toEqual(expected.find((e) => windowId(SITE, e) === windowId(SITE, window)));
    console.info(`${received.length} window messages for ${expected.length} windows (${received.length - expected.length} copies)`);
    expect(city.problems).toEqual([]);

    // The camera's state is retained: a subscriber that comes later learns it at once.
    const latecomer = await watchBroker(broker.url, 'latecomer', { persistent: false });
    await eventually('the retained status', 10, () => latecomer.statuses('gate').length > 0);
    expect(latecomer.statuses('gate')[0]).toMatchObject({ v: 1, type: 'status', camera: 'gate', state: 'streaming', retained: true });
    await latecomer.close();

    // A clean stop says goodbye: the retained state stays `stopped`; the last will (`offline`) is not published.
    states.set('gate', 'stopped');
    await box.mqtt.close();
    const afterStop = await watchBroker(broker.url, 'after-stop', { persistent: false });
    await eventually('the retained status after the stop', 10, () => afterStop.statuses('gate').length > 0);
    expect(afterStop.statuses('gate')[0]).toMatchObject({ state: 'stopped', retained: true });
    await afterStop.close();
    await city.close();
    store.close();
    await broker.stop();
  });

  it('stops without waiting for ever on a broker that hangs, and the next start sends what it never acknowledged', async () => {
    const broker = await startMosquitto(path.join(sandbox(), 'hanging-broker'));
    const city = await watchBroker(broker.url, 'city-aggregator', { persistent: true });
    const store = openReleaseStore(path.join(sandbox(), 'hanging-box', 'releases.sqlite'));
    const log = recordingLogger();
    const connection = mqttConnectionSchema.parse({ url: broker.url, reconnectSeconds: 0.2, keepaliveSeconds: 30 });
    const startBox = () => {
      const mqtt = startMqttPublisher({ connection, site: SITE, cameras: ['gate'], store, cameraStates: new CameraStateRegistry(), metrics: createVeilMetrics(), log, where: 'test config, mqtt' });
      return { mqtt, publish: fanOut([releaseStoreSink(store), mqtt], log) };
    };
    const expected = Array.from({ length: 3 }, (_, index) => releasedWindow({ camera: 'gate', index }));

    let box = startBox();
    box.publish(expected[0]!);
    await eventually('the first window at the city', 20, () => city.windows('gate').length === 1);
    // The connection stays open but nothing answers: the next two windows go out and are never acknowledged.
    broker.freeze();
    for (const window of expected.slice(1)) box.publish(window);
    await box.mqtt.close();
    expect(box.mqtt.pending('gate')).toBe(2);

    await broker.kill();
    await broker.restart();
    box = startBox();
    await eventually('all three windows at the city', 30, () => firstCopies(city.windows('gate')).length === 3);
    expect(firstCopies(city.windows('gate'))).toEqual(expected);
    await eventually('nothing left unacknowledged', 10, () => box.mqtt.pending('gate') === 0);
    expect(city.problems).toEqual([]);
    await box.mqtt.close();
    await city.close();
    store.close();
    await broker.stop();
  });
});

describe('two boxes with one config (a copied site.yaml) on a real mosquitto', () => {
  it('each says once that another client may be using its client id, naming mqtt.site and mqtt.clientId', async () => {
    const broker = await startMosquitto(path.join(sandbox(), 'copied-config-broker'));
    // The same mqtt section on both boxes: the same site, so both connect as veil-south.road.
    const connection = mqttConnectionSchema.parse({ url: broker.url, reconnectSeconds: 0.2, keepaliveSeconds: 5 });
    const boxes = ['box-a', 'box-b'].map((name) => {
      const store = openReleaseStore(path.join(sandbox(), name, 'releases.sqlite'));
      const log = recordingLogger();
      const mqtt = startMqttPublisher({ connection, site: 'south', cameras: ['road'], store, cameraStates: new CameraStateRegistry(), metrics: createVeilMetrics(), log, where: 'config site.yaml, mqtt' });
      return { store, log, mqtt };
    });
    const takenOver = (log: ReturnType<typeof recordingLogger>) => log.lines.filter((line) => line.message.startsWith('MQTT connection of camera "road" taken over'));
    const lost = (log: ReturnType<typeof recordingLogger>) => log.lines.filter((line) => line.message.startsWith('MQTT broker connection lost'));
    // Each takes the id from the other at every reconnection; well past the third loss, still one error each.
    await eventually('both boxes to lose their connection ten times', 60, () => boxes.every((box) => lost(box.log).length >= 10));
    for (const box of boxes) {
      expect(takenOver(box.log)).toHaveLength(1);
      expect(takenOver(box.log)[0]).toMatchObject({ level: 'error' });
      const { message } = takenOver(box.log)[0]!;
      expect(message).toContain('client id "veil-south.road"');
      expect(message).toContain('config site.yaml, mqtt.site "south"');
      expect(message).toContain('config site.yaml, mqtt.clientId');
    }
    for (const box of boxes) {
      await box.mqtt.close();
      box.store.close();
    }
    await broker.stop();
  });

  it('one box alone, through three broker outages in a row, says nothing of the kind', async () => {
    const broker = await startMosquitto(path.join(sandbox(), 'lone-box-broker'));
    const connection = mqttConnectionSchema.parse({ url: broker.url, reconnectSeconds: 0.2, keepaliveSeconds: 5 });
    const store = openReleaseStore(path.join(sandbox(), 'lone-box', 'releases.sqlite'));
    const log = recordingLogger();
    const metrics = createVeilMetrics();
    const mqtt = startMqttPublisher({ connection, site: 'south', cameras: ['road'], store, cameraStates: new CameraStateRegistry(), metrics, log, where: 'config site.yaml, mqtt' });
    for (let restart = 0; restart < 3; restart += 1) {
      await eventually('the box connected', 20, async () => (await gauge(metrics.mqttConnected, 'road')) === 1);
      await broker.kill();
      await eventually('the box to notice the broker is gone', 20, async () => (await gauge(metrics.mqttConnected, 'road')) === 0);
      // Each connection lasted well under a second, as a taken-over one does; what tells them apart is the
      // reconnection that fails while the broker is away (a takeover's succeeds at once).
      await eventually('a reconnection refused', 20, () => log.lines.filter((line) => line.message.startsWith('MQTT broker unreachable')).length === restart + 1);
      await broker.restart();
    }
    await eventually('the box connected again', 20, async () => (await gauge(metrics.mqttConnected, 'road')) === 1);
    expect(log.lines.filter((line) => line.message.startsWith('MQTT broker connection lost'))).toHaveLength(3);
    expect(log.lines.filter((line) => line.message.includes('taken over'))).toEqual([]);
    await mqtt.close();
    store.close();
    await broker.stop();
  });
});
