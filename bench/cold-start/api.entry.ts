// esbuild entry of the API Lambda: exactly what its callbackFactory does (components/HybridLambdaFargateService.ts):
// the platform entry around the program's app, in Lambda mode.
import { demoApp } from "../../app";
import { hybridEntry } from "../../functions/platform/entry";

export const handler = hybridEntry(demoApp)();
