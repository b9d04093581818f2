/**
 * The demo app as a local container server, from source: `npm start`
 * (`node -r ts-node/register/transpile-only app/main.ts`). The same platform entry the image runs
 * (`hybridEntry(demoApp)`), in container mode: serves on PORT (8080), and on SIGTERM/SIGINT drains
 * in-flight requests, closes the cache and exits 0; a bad environment exits 78 (see docs/api.md).
 */
import { hybridEntry } from "../functions/platform/entry";
import { RUNTIME_ENV } from "../functions/platform/env";
import { demoApp } from "./index";

process.env[RUNTIME_ENV] = "container";
hybridEntry(demoApp)();
