import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../cli-errors';
import { parseDuration } from '../human-time';
import { CliRuntime, GlobalOptions, Io, RunState } from '../cli-runtime';
import { OUTPUT_FORMATS, OutputFormat } from '../printers';

/** Glue between commander and the commands: each action gets a runtime built from the global options. */

export interface ProgramContext {
  io: Io;
  state: RunState;
}

/** Wraps an action: commander passes `(...args, options, command)`; the command's options include the globals. */
export function action<O, A extends unknown[]>(ctx: ProgramContext, fn: (rt: CliRuntime, opts: O, ...args: A) => Promise<void>) {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const args = all.slice(0, -2) as A;
    const opts = cmd.optsWithGlobals() as O & GlobalOptions;
    await fn(new CliRuntime(opts, ctx.io, ctx.state), opts, ...args);
  };
}

export function outputOption(formats: readonly OutputFormat[] = OUTPUT_FORMATS, defaultFormat?: OutputFormat): Option {
  const o = new Option('-o, --output <format>', 'output format').choices(formats as string[]);
  return defaultFormat ? o.default(defaultFormat) : o;
}

/** Argument parsers: a bad value is a usage error (exit 2) naming the option. */
export function positiveInt(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive whole number.');
  return Number(value);
}

export function nonNegativeInt(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('must be a whole number.');
  return Number(value);
}

export function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('must be a duration such as 30s, 5m or 1h.');
  return ms;
}

/** Collects a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `NAME` or `NAME@REVISION`. */
export function configRef(text: string): { remoteConfig: string; revision?: number } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(@([1-9][0-9]*))?$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not a remote config reference (NAME or NAME@REVISION)`);
  return { remoteConfig: m[1], ...(m[4] ? { revision: Number(m[4]) } : {}) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
