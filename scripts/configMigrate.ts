/**
 * Renames the deprecated config keys of one stack file to their new names (config.ts RENAMED_KEYS,
 * docs/configuration.md), in place: comments, order and values stay as they are.
 *
 *   node -r ts-node/register/transpile-only scripts/configMigrate.ts --stack dev [--dry-run]
 *
 * A key set both ways: the same value drops the old line; different values are refused (exit 1), since
 * only the owner of the stack knows which one is meant.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { PROJECT, RENAMED_KEYS } from "../config";
import { parseFlags, usageMessage } from "./cli";

export interface Migration {
  text: string;
  /** [old, new] for every key renamed (or dropped as a duplicate of the new key). */
  renamed: Array<[string, string]>;
  /** Keys set both ways with different values (left as they are). */
  conflicts: string[];
}

/**
 * `text` without the entry whose key line `keyLine` matches: that line and the lines of its value below
 * it (a list's items, a nested map: lines indented deeper, or `- ` items at the key's own indent).
 */
function removeEntry(text: string, keyLine: RegExp): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => keyLine.test(l));
  if (start < 0) return text;
  const indent = /^\s*/.exec(lines[start])![0].length;
  let end = start + 1;
  while (end < lines.length) {
    const l = lines[end];
    const lineIndent = /^\s*/.exec(l)![0].length;
    if (l.trim() === "" || !(lineIndent > indent || (lineIndent === indent && l.trimStart().startsWith("- ")))) break;
    end++;
  }
  lines.splice(start, end - start);
  return lines.join("\n");
}

/** The stack file's text with every old key renamed. */
export function migrateStackFileText(text: string): Migration {
  const config = ((yaml.load(text) ?? {}) as { config?: Record<string, unknown> }).config ?? {};
  const renamed: Array<[string, string]> = [];
  const conflicts: string[] = [];
  let out = text;
  for (const r of RENAMED_KEYS) {
    const oldKey = `${PROJECT}:${r.old}`;
    const newKey = `${PROJECT}:${r.new}`;
    if (!(oldKey in config)) continue;
    const line = new RegExp(`^(\\s*)${oldKey.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:`, "m");
    if (newKey in config) {
      if (JSON.stringify(config[oldKey]) !== JSON.stringify(config[newKey])) {
        conflicts.push(`${oldKey} = ${JSON.stringify(config[oldKey])} and ${newKey} = ${JSON.stringify(config[newKey])}: keep one (pulumi config rm ${r.old} or ${r.new})`);
        continue;
      }
      out = removeEntry(out, line);
    } else {
      out = out.replace(line, `$1${newKey}:`);
    }
    renamed.push([r.old, r.new]);
  }
  return { text: out, renamed, conflicts };
}

const USAGE = `usage: node -r ts-node/register/transpile-only scripts/configMigrate.ts --stack <stack> [options]

  --stack <name>    the stack file to migrate (Pulumi.<name>.yaml)
  --dry-run         print the renames, change nothing
  -h, --help        this text

exit codes: 0 done, 1 a key set both ways with different values, 2 bad input`;

function main(argv: string[]): number {
  const root = path.resolve(__dirname, "..");
  const stacks = (): string => fs.readdirSync(root).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter(Boolean).join(", ");
  let args;
  try {
    args = parseFlags(argv, { stack: { type: "string" }, "dry-run": { type: "boolean" } });
  } catch (e) {
    console.error(usageMessage("configMigrate", (e as Error).message, USAGE));
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const stack = args.stack;
  const file = stack && /^[A-Za-z0-9_.-]+$/.test(stack) ? path.join(root, `Pulumi.${stack}.yaml`) : undefined;
  if (!file || !fs.existsSync(file)) {
    console.error(usageMessage("configMigrate", `${stack === undefined ? "--stack is required" : `--stack ${JSON.stringify(stack)}: no such stack`}; allowed: ${stacks()}`, USAGE));
    return 2;
  }
  const { text, renamed, conflicts } = migrateStackFileText(fs.readFileSync(file, "utf8"));
  for (const [o, n] of renamed) console.log(`${path.basename(file)}: ${o} -> ${n}`);
  for (const c of conflicts) console.error(`${path.basename(file)}: set both ways: ${c}`);
  if (renamed.length === 0 && conflicts.length === 0) console.log(`${path.basename(file)}: no deprecated keys`);
  if (renamed.length > 0 && !args["dry-run"]) fs.writeFileSync(file, text);
  return conflicts.length > 0 ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
