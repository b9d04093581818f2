import * as path from "node:path";
import { runProgram, type ProgramRun } from "serverless-cache/testing";

let run: Promise<ProgramRun> | undefined;

/** The dev stack under the mock engine, run once for all test files (a run is read-only data). */
export function devRun(): Promise<ProgramRun> {
  run ??= runProgram({ program: path.join(__dirname, "..", "index.ts"), stack: "dev" });
  return run;
}
