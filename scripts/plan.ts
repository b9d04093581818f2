/**
 * npm run plan -- --stack <name> [options]
 *
 * The credential-free plan of a stack: runs the real program under Pulumi's mock engine with the
 * stack's config, then prints the resource tree by component, the policy pack's verdicts and a
 * monthly cost estimate, and writes a Markdown report (for a PR comment).
 *
 * Exit codes: 0 plan ok, 1 a mandatory policy failed, 2 bad arguments, stack, config, prices or
 * assumptions, 3 an unexpected error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../config";
import { cacheEmptyingChanges, exportedResources } from "../plan/cacheDiff";
import { estimateMonthlyCost, loadAssumptions, loadPriceTable, PricingError, readJsonFile } from "../plan/cost";
import { availableStacks, parseConfigOverrides, ProgramError, REPO_ROOT, runProgram, UnknownStackError } from "../plan/engine";
import { mandatoryFailures, PolicyConfigError, resolvePolicyConfig, runPolicies, type PolicyConfig } from "../plan/policyRunner";
import { renderMarkdown, renderText, type Plan } from "../plan/report";
import { policies } from "../policy/policies";
import { parseFlags, UsageError, usageMessage } from "./cli";

export const USAGE = `usage: npm run plan -- --stack <name> [options]

  --stack <name>            stack to plan (one of the Pulumi.<name>.yaml files)
  --out <file>              Markdown report (default: out/plan-<stack>.md)
  --json <file>             also write the plan as JSON
  --config <key>=<value>    override one config key for this plan (repeatable), e.g. networkNatMode=single
  --prices <file>           price table (default: pricing/us-east-1.json)
  --assumptions <file>      traffic assumptions (default: pricing/assumptions.json)
  --policy-config <file>    policy config, as for pulumi --policy-pack-config
  --against <file>          the stack's current state (pulumi stack export --file <file>): report
                            every change that empties memcached or the API's stage cache
  --fail-on-cache-flush     with --against: exit 1 when a change empties a cache
  -h, --help                this text

exit codes: 0 ok, 1 a mandatory policy failed (or a cache flush with --fail-on-cache-flush), 2 bad input, 3 unexpected error`;

export { UsageError };

export interface PlanOptions {
  stack: string;
  out: string;
  json?: string;
  overrides: Record<string, string>;
  prices: string;
  assumptions: string;
  policyConfig?: string;
  against?: string;
  failOnCacheFlush: boolean;
}

export function parseArgs(argv: string[]): PlanOptions | "help" {
  const flags = parseFlags(argv, {
    stack: { type: "string" },
    out: { type: "string" },
    json: { type: "string" },
    config: { type: "string", multiple: true },
    prices: { type: "string" },
    assumptions: { type: "string" },
    "policy-config": { type: "string" },
    against: { type: "string" },
    "fail-on-cache-flush": { type: "boolean" },
  });
  if (flags.help) return "help";
  const stack = flags.stack;
  if (!stack) throw new UsageError(`--stack is required; allowed: ${availableStacks().join(", ")}`);
  const overrides = parseConfigOverrides(flags.config ?? [], (message) => new UsageError(message));
  return {
    stack,
    out: flags.out ?? path.join("out", `plan-${stack}.md`),
    json: flags.json,
    overrides,
    prices: flags.prices ?? path.join(REPO_ROOT, "pricing", "us-east-1.json"),
    assumptions: flags.assumptions ?? path.join(REPO_ROOT, "pricing", "assumptions.json"),
    policyConfig: flags["policy-config"],
    against: flags.against,
    failOnCacheFlush: flags["fail-on-cache-flush"] ?? false,
  };
}

/** Builds the plan; throws UsageError/UnknownStackError/ConfigError/PricingError on bad input. */
export async function buildPlan(options: PlanOptions): Promise<Plan> {
  const started = Date.now();
  // Prices and assumptions first: they fail fast, before the program runs.
  const prices = loadPriceTable(options.prices);
  const assumptions = loadAssumptions(options.assumptions, options.stack);
  const policyConfig = options.policyConfig ? readJsonFile<PolicyConfig>(options.policyConfig, "policy config", (m) => new UsageError(m)) : {};
  resolvePolicyConfig(policies, policyConfig); // names, levels and settings checked before the program runs
  const current = options.against === undefined ? undefined : readJsonFile<unknown>(options.against, "stack export", (m) => new UsageError(m));
  let currentResources;
  try {
    currentResources = current === undefined ? undefined : exportedResources(current);
  } catch (err) {
    throw new UsageError(`--against ${options.against}: ${(err as Error).message}`);
  }
  const run = await runProgram(options.stack, options.overrides);
  const verdicts = await runPolicies(run.resources, policies, policyConfig);
  const cost = estimateMonthlyCost(run.resources, prices, assumptions);
  const cacheFindings = currentResources === undefined ? undefined : cacheEmptyingChanges(currentResources, run.resources);
  return { stack: options.stack, resources: run.resources, verdicts, cost, elapsedMs: Date.now() - started, ...(cacheFindings ? { cacheFindings } : {}) };
}

function isInputError(err: unknown): boolean {
  return err instanceof UsageError || err instanceof UnknownStackError || err instanceof ConfigError || err instanceof PricingError || err instanceof PolicyConfigError
    || (err instanceof Error && err.name === "ConfigError")
    || (err instanceof ProgramError && isInputError(err.cause));
}

export async function main(argv: string[]): Promise<number> {
  let options: PlanOptions | "help";
  try {
    options = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${usageMessage("plan", (err as Error).message, USAGE)}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const plan = await buildPlan(options);
    process.stdout.write(`${renderText(plan)}\n`);
    fs.mkdirSync(path.dirname(path.resolve(options.out)), { recursive: true });
    fs.writeFileSync(options.out, renderMarkdown(plan));
    process.stdout.write(`\nMarkdown report: ${options.out}\n`);
    if (options.json) {
      fs.mkdirSync(path.dirname(path.resolve(options.json)), { recursive: true });
      const { resources, ...rest } = plan;
      fs.writeFileSync(options.json, `${JSON.stringify({ ...rest, resourceCount: resources.length }, null, 2)}\n`);
    }
    const failures = mandatoryFailures(plan.verdicts);
    if (failures.length > 0) {
      process.stderr.write(`plan: ${failures.length} mandatory polic${failures.length === 1 ? "y" : "ies"} failed: ${failures.map((f) => f.policy).join(", ")}\n`);
      return 1;
    }
    const flushes = plan.cacheFindings ?? [];
    if (flushes.length > 0) {
      process.stderr.write(`plan: warning: ${flushes.length} change(s) empty a cache: ${flushes.map((f) => `${f.resource} (${f.change})`).join("; ")}\n`);
      if (options.failOnCacheFlush) return 1;
    }
    return 0;
  } catch (err) {
    if (isInputError(err)) {
      process.stderr.write(`plan: ${(err as Error).message}\n`);
      return 2;
    }
    if (err instanceof ProgramError) {
      process.stderr.write(`plan: ${err.message}\n`);
      return 3;
    }
    process.stderr.write(`plan: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return 3;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`plan: ${String(err)}\n`);
    process.exit(3);
  });
}
