// esbuild entry of the cache Lambda: exactly what its callbackFactory does (components/CacheFunction.ts).
import { createCacheHandler, lambdaTelemetry, settingsFromEnv } from "../../functions/cacheHandler";

export const handler = createCacheHandler(settingsFromEnv(process.env), lambdaTelemetry());
