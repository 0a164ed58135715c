/**
 * The city side of a secure-aggregation test: a real mosquitto and a real `veil aggregate` child of their own, in a
 * folder nothing else uses (so nothing retained leaks in from another test), with one securely aggregated district;
 * the district totals its feed sends; and σ of one central release of the district vector, worked out by hand.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { DistrictWindow } from '../../streams/feedMessages.ts';
import { FeedTestClient } from './liveEndpoints.ts';
import { FEED_TOKEN, startVeil, writeSiteConfig, type VeilRun } from './liveVeil.ts';
import { startMosquitto, type Broker } from './mosquitto.ts';

export interface City {
  broker: Broker;
  aggregator: VeilRun;
  /** The aggregator's feed, http://127.0.0.1:PORT */
  url: string;
  /** A client of that feed holding the feed token, connected before any box starts. */
  feed: FeedTestClient;
}

/**
 * Starts a broker and a `veil aggregate` in `folder` (created), whose city.yaml has one district "old town" with
 * `secureAggregation` as given (the district's shared settings plus the aggregator's phaseSeconds).
 */
export async function startCity(folder: string, secureAggregation: Record<string, unknown>): Promise<City> {
  await mkdir(folder, { recursive: true });
  const broker = await startMosquitto(path.join(folder, 'broker'));
  const cityFile = await writeSiteConfig(folder, 'city.yaml', {
    broker: { url: broker.url, clientId: 'city', reconnectSeconds: 0.2 },
    stateDir: 'city',
    feed: { port: 0 },
    districts: [{ name: 'old town', secureAggregation }],
  });
  const aggregator = startVeil(['aggregate', '--config', cityFile], { home: folder });
  const url = await aggregator.listening(60);
  return { broker, aggregator, url, feed: await FeedTestClient.connect(url, FEED_TOKEN) };
}

/** The securely aggregated district totals the feed has sent so far, in order. */
export function secureTotals(feed: FeedTestClient): DistrictWindow[] {
  return feed.received.flatMap(({ message }) => (message.type === 'district' && message.district.secureAggregation ? [message.district] : []));
}

/**
 * σ of one central release of the district vector, by hand: ρ from (ε, δ) by Bun & Steinke 2016, Prop. 1.3
 * (ε = ρ + 2√(ρ ln 1/δ), solved for √ρ), and σ² = Δ₂²/(2ρ), Δ₂ = L·m (L lines summed on a box, a track crossing each
 * at most m times).
 */
export function oneReleaseSigma(epsilon: number, delta: number, l2Sensitivity: number): number {
  const logInverseDelta = Math.log(1 / delta);
  const rootRho = Math.sqrt(logInverseDelta + epsilon) - Math.sqrt(logInverseDelta);
  return Math.sqrt((l2Sensitivity * l2Sensitivity) / (2 * rootRho * rootRho));
}
