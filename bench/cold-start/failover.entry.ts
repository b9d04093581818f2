// esbuild entry of the failover Lambda: the body of its callbackFactory in
// components/HybridLambdaFargateService.ts, copied as is (keep the two in step).
import { createFailoverClients, createFailoverHandler } from "../../functions/failover/shell";

function factory() {
  const env = process.env;
  const need = (key: string): string => {
    const v = env[key];
    if (!v) throw new Error(`environment variable ${key} is required`);
    return v;
  };
  return createFailoverHandler({
    clients: createFailoverClients(),
    ids: {
      listenerArn: need("FAILOVER_LISTENER_ARN"),
      lambdaTargetGroupArn: need("FAILOVER_LAMBDA_TG_ARN"),
      fargateTargetGroupArn: need("FAILOVER_FARGATE_TG_ARN"),
      cluster: need("FAILOVER_CLUSTER"),
      service: need("FAILOVER_SERVICE"),
      alarmNames: need("FAILOVER_ALARM_NAMES").split(","),
    },
    config: {
      baselineDesiredCount: Number(need("FAILOVER_BASELINE_COUNT")),
      failoverDesiredCount: Number(need("FAILOVER_DESIRED_COUNT")),
      cooldownSeconds: Number(need("FAILOVER_COOLDOWN_SECONDS")),
      shiftBackDelaySeconds: Number(need("FAILOVER_SHIFT_BACK_DELAY_SECONDS")),
    },
  });
}

export const handler = factory();
