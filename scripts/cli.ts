/**
 * The one argument parser of every CLI here (scripts/*.ts, bench/*.ts): node:util `parseArgs` reads
 * argv, this file turns what it read into the same errors everywhere.
 *
 * - `--name value` and `--name=value`; `-h`/`--help` everywhere (the caller prints its USAGE, exit 0);
 * - an unknown flag or a stray argument: `unknown argument "--x"; valid: --a, --b, ...`;
 * - a value flag without a value (end of argv, next argument is a flag, or empty): `--x needs a value`;
 * - a value given to a boolean flag: `--x takes no value`;
 * - a non-repeatable flag given twice: `--x given 2 times`.
 *
 * Every failure is a UsageError (exit code 2); `reportUsageError` prints it the same way for all.
 */
import { parseArgs as nodeParseArgs } from "node:util";

export interface FlagSpec {
  type: "string" | "boolean";
  /** One-letter alias, without the dash. */
  short?: string;
  /** May be given more than once (string flags: every value, in order). */
  multiple?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed flags: strings (or string[] when `multiple`), booleans; absent flags are undefined. */
export type FlagValues<F extends FlagSpecs> = {
  [K in keyof F]?: F[K]["type"] extends "string" ? (F[K]["multiple"] extends true ? string[] : string) : boolean;
} & { help: boolean };

/** A bad command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Parse argv (without node and the script) against `flags`; throws what `fail` makes (default UsageError). */
export function parseFlags<const F extends FlagSpecs>(argv: readonly string[], flags: F, fail: (message: string) => Error = (m) => new UsageError(m)): FlagValues<F> {
  const specs: FlagSpecs = { help: { type: "boolean", short: "h" }, ...flags };
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, s] of Object.entries(specs)) options[name] = s.short ? { type: s.type, short: s.short } : { type: s.type };
  // strict: false so that every problem comes back as a token this function words itself.
  const { tokens } = nodeParseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const valid = Object.keys(specs).map((n) => `--${n}`).join(", ");
  const seen = new Map<string, string[]>();
  const bools = new Set<string>();
  for (const t of tokens) {
    if (t.kind === "option-terminator") throw fail(`unknown argument "--"; valid: ${valid}`);
    if (t.kind === "positional") throw fail(`unknown argument ${JSON.stringify(t.value)}; valid: ${valid}`);
    const spec = Object.hasOwn(specs, t.name) ? specs[t.name] : undefined;
    if (!spec) throw fail(`unknown argument ${JSON.stringify(argv[t.index])}; valid: ${valid}`);
    const flag = `--${t.name}`;
    if (spec.type === "boolean") {
      if (t.inlineValue) throw fail(`${flag} takes no value`);
      bools.add(t.name);
      continue;
    }
    if (t.value === undefined || t.value === "" || (!t.inlineValue && t.value.startsWith("-"))) throw fail(`${flag} needs a value`);
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value]);
  }
  const out: Record<string, unknown> = { help: bools.has("help") };
  for (const [name, s] of Object.entries(specs)) {
    if (name === "help") continue;
    if (s.type === "boolean") {
      if (bools.has(name)) out[name] = true;
      continue;
    }
    const values = seen.get(name);
    if (!values) continue;
    if (s.multiple) out[name] = values;
    else if (values.length > 1) throw fail(`--${name} given ${values.length} times`);
    else out[name] = values[0];
  }
  return out as FlagValues<F>;
}

/** A number flag's value within [min, max], or a UsageError naming the flag. */
export function numberFlag(flag: string, raw: string, min: number, max = Infinity, fail: (message: string) => Error = (m) => new UsageError(m)): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw fail(`${flag} needs a number ${max === Infinity ? `>= ${min}` : `from ${min} to ${max}`} (got ${raw})`);
  return n;
}

/** How every CLI reports a bad command line: `<tool>: <message>`, a blank line, the usage text (stderr). */
export function usageMessage(tool: string, message: string, usage: string): string {
  return `${tool}: ${message}\n\n${usage}`;
}
