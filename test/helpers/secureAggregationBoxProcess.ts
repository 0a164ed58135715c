/**
 * One box of a secure-aggregation round in a process of its own, so a test can SIGKILL it mid-round as a crash or a
 * power cut would. Run as `node --import tsx secureAggregationBoxProcess.ts JSON`, JSON = {url, site, box,
 * parameters, round, values: decimal strings, phaseTimeoutMs}. Prints "ready" once subscribed, then takes part in
 * the round and prints its outcome as JSON.
 */
import mqtt from 'mqtt';
import type { SecureAggregationParameters } from '../../stages/privacy/secureAggregationMessages.ts';
import { SecureAggregationBoxClient } from '../../streams/mqtt/secureAggregationBox.ts';

interface BoxProcessArguments {
  url: string;
  site: string;
  box: string;
  parameters: SecureAggregationParameters;
  round: string;
  values: string[];
  phaseTimeoutMs: number;
}

const args = JSON.parse(process.argv[2]!) as BoxProcessArguments;
const client = await mqtt.connectAsync(args.url, { clientId: `process-${args.box}`, clean: true, reconnectPeriod: 0 });
const rounds = await SecureAggregationBoxClient.open({ client, site: args.site, box: args.box, parameters: args.parameters, phaseTimeoutMs: args.phaseTimeoutMs, log: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write('ready\n');
const outcome = await rounds.contribute(args.round, args.values.map(BigInt));
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await client.endAsync();
