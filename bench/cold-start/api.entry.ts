// esbuild entry of the API Lambda: exactly what its callbackFactory does (components/HybridLambdaFargateService.ts).
import { createApiLambdaHandler } from "../../functions/api/lambdaEntry";

export const handler = createApiLambdaHandler(process.env);
