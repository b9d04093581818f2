/**
 * `serverless-cache/testing`: unit-test a Pulumi program that uses the serverless-cache components,
 * with no AWS account and no Pulumi CLI (docs/testing.md).
 *
 *     import { runProgram } from "serverless-cache/testing";
 *     const run = await runProgram({ program: "./index.ts", stack: "dev" });
 *     run.ofType("aws:lambda/function:Function");       // every resource, our components' children included
 *
 * The same mock engine runs this repository's own tests and `npm run plan`: Pulumi's mocks
 * (`pulumi.runtime.setMocks`) with a mock AWS account that behaves like a real one where it matters to
 * these components (AZ names mapped to zone IDs per account, Local and Wavelength Zones in
 * DescribeAvailabilityZones, the data sources the components call, what AWS refuses at create time).
 */
export {
  runProgram,
  resolveConfig,
  ProgramError,
  SecretConfigError,
  topComponent,
  componentLabel,
  type RunProgramOptions,
  type ProgramRun,
  type MockResource,
  type ResourceOptionsSeen,
  type ConfigSources,
} from "../plan/engine";
export { MockAccount, MockAwsError, DEFAULT_ZONES, type MockAccountOptions, type MockZone } from "../plan/mockAccount";
export { extractLambdaArchive, type LambdaArchive } from "./lambdaArchive";
export { albEvent, albAnswer, type AlbRequest, type AlbAnswer } from "./alb";
export { startMemcached, freePort, waitForPort, type MemcachedServer } from "./memcached";
export { runArchive, startContainer, type ArchiveRun, type Invocation, type RunningContainer } from "./runtime";
