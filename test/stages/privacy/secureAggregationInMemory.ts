/**
 * Runs one secure-aggregation round with the real box and aggregator state machines, passing messages by hand in
 * place of a broker, so unit tests can drop a box at a chosen phase or change a message on the way.
 */
import { SecureAggregationAggregator } from '../../../stages/privacy/secureAggregationAggregator.ts';
import { SecureAggregationBox } from '../../../stages/privacy/secureAggregationBox.ts';
import type { MaskedMessage, ResultMessage, RosterMessage, SecureAggregationParameters, SharesMessage, SharersMessage, SurvivorsMessage, UnmaskMessage } from '../../../stages/privacy/secureAggregationMessages.ts';

export interface InMemoryRoundOptions {
  /** Boxes that stop after sending their shares: the masks are fixed with them, their input never arrives. */
  dropAfterSharing?: string[];
  /** Boxes whose masked input is made but reaches the aggregator only after it has announced the survivors. */
  late?: string[];
  /** Changes a box's shares message on its way to the other boxes. */
  alterShares?: (message: SharesMessage) => SharesMessage;
  /** Changes a box's unmask message on its way to the aggregator. */
  alterUnmask?: (message: UnmaskMessage) => UnmaskMessage;
  /** Boxes of the district the aggregator keeps out from the start, with the reason (they are not in `inputs`). */
  keptOut?: ReadonlyMap<string, string>;
  /**
   * Box ids a second box advertises as (other keys) once the roster is out: the aggregator's refusal is the
   * original box's error in `boxErrors`, and that box sends nothing more.
   */
  copiedAfterRoster?: string[];
}

export interface InMemoryRound {
  result: ResultMessage;
  roster: RosterMessage;
  /** The masked inputs the aggregator received in time, and those of `late` boxes. */
  masked: MaskedMessage[];
  lateMasked: MaskedMessage[];
  /** Errors boxes threw (each makes that box stop), by box. */
  boxErrors: Map<string, Error>;
  /** Shares a box refused (it goes on without them), as "recipient ← sender: reason". */
  refusedShares: string[];
}

export async function runRoundInMemory(parameters: SecureAggregationParameters, round: string, inputs: ReadonlyMap<string, readonly bigint[]>, options: InMemoryRoundOptions = {}): Promise<InMemoryRound> {
  const aggregator = new SecureAggregationAggregator(parameters, round, options.keptOut);
  const boxes = [...inputs.keys()].map((id) => new SecureAggregationBox(parameters, id, round));
  const boxErrors = new Map<string, Error>();
  const alive = () => boxes.filter((box) => !boxErrors.has(box.box));
  const attempt = async <T>(box: SecureAggregationBox, step: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await step();
    } catch (error) {
      boxErrors.set(box.box, error as Error);
      return undefined;
    }
  };
  const advertisements = boxes.map((box) => box.advertise());
  for (const advertisement of advertisements) aggregator.receive(advertisement);
  for (const box of boxes) for (const advertisement of advertisements) if (advertisement.box !== box.box) box.noteAdvertisement(advertisement);
  const roster = (await aggregator.closePhase()) as RosterMessage;
  for (const id of options.copiedAfterRoster ?? []) {
    try {
      aggregator.receive(new SecureAggregationBox(parameters, id, round).advertise());
    } catch (error) {
      boxErrors.set(id, error as Error);
    }
  }
  const shares: SharesMessage[] = [];
  for (const box of alive()) {
    const message = await attempt(box, () => box.shareKeys(roster));
    if (!message) continue;
    aggregator.receive(message);
    shares.push(options.alterShares ? options.alterShares(message) : message);
  }
  const refusedShares: string[] = [];
  for (const box of alive()) {
    for (const message of shares) {
      if (message.box === box.box) continue;
      try {
        box.receiveShares(message);
      } catch (error) {
        refusedShares.push(`${box.box} ← ${message.box}: ${(error as Error).message}`);
      }
    }
  }
  const sharers = (await aggregator.closePhase()) as SharersMessage;
  for (const id of options.dropAfterSharing ?? []) boxErrors.set(id, new Error('dropped out'));
  const masked: MaskedMessage[] = [];
  const lateMasked: MaskedMessage[] = [];
  for (const box of alive()) {
    const message = await attempt(box, () => box.maskInput(sharers, inputs.get(box.box)!));
    if (!message) continue;
    if (options.late?.includes(box.box)) {
      lateMasked.push(message);
      continue;
    }
    aggregator.receive(message);
    masked.push(message);
  }
  const survivors = await aggregator.closePhase();
  if (survivors.type === 'result') return { result: survivors, roster, masked, lateMasked, boxErrors, refusedShares };
  for (const box of alive()) {
    if (options.late?.includes(box.box)) continue;
    const message = await attempt(box, () => box.unmask(survivors as SurvivorsMessage));
    if (message) aggregator.receive(options.alterUnmask ? options.alterUnmask(message) : message);
  }
  return { result: (await aggregator.closePhase()) as ResultMessage, roster, masked, lateMasked, boxErrors, refusedShares };
}
