// The mock-engine harness is shared with the offline plan (npm run plan); tests import it from here.
import { runProgram as runProgramUncached, type ProgramRun } from "../../plan/engine";

export { REPO_ROOT, PROJECT, stackConfig, availableStacks, UnknownStackError, type MockResource, type ProgramRun } from "../../plan/engine";

const runs = new Map<string, Promise<ProgramRun>>();

/**
 * `runProgram` of plan/engine.ts, run once per (stack, overrides, account) for the whole test process:
 * a run is deterministic data, and the program takes seconds under the mock engine, so the suite shares
 * runs instead of repeating them. Treat a run as read-only (test/support/resources.ts `clone` before
 * changing one). Pass `{ fresh: true }` for a run of your own.
 */
export function runProgram(
  stack: string,
  overrides: Record<string, string | undefined> = {},
  options: Parameters<typeof runProgramUncached>[2] & { fresh?: boolean } = {},
): Promise<ProgramRun> {
  const { fresh, ...engineOptions } = options;
  if (fresh) return runProgramUncached(stack, overrides, engineOptions);
  const key = JSON.stringify([stack, Object.entries(overrides).sort(), engineOptions]);
  let run = runs.get(key);
  if (!run) {
    run = runProgramUncached(stack, overrides, engineOptions);
    runs.set(key, run);
  }
  return run;
}
