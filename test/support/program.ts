// The mock-engine harness is shared with the offline plan (npm run plan); tests import it from here.
export { REPO_ROOT, PROJECT, runProgram, stackConfig, availableStacks, UnknownStackError, type MockResource, type ProgramRun } from "../../plan/engine";
