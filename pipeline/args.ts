/**
 * Command-line flags: parsed with node:util, then checked like any other input — a bad flag value is reported
 * with the flag's name and what it accepts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends FlagSpec>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's hint about positionals after `--` is noise for a user; its sentences keep their own full stop.
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, '').replace(/\.$/, '');
    throw new UsageError(`${message}. See \`veil ${command} --help\`.`);
  }
}

export function numberFlag(value: string | undefined, flag: string, accepts: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new UsageError(`--${flag} ${value}: expected ${accepts}`);
  return parsed;
}

export function choiceFlag<C extends string>(value: string | undefined, flag: string, choices: readonly C[]): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} ${value}: expected one of ${choices.join(', ')}`);
  return value as C;
}
