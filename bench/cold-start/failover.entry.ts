// esbuild entry of the failover Lambda: exactly what its callbackFactory in
// components/HybridLambdaFargateService.ts does.
import { createFailoverHandlerFromEnv } from "../../functions/failover/shell";

export const handler = createFailoverHandlerFromEnv(process.env);
