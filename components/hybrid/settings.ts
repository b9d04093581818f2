import type * as pulumi from "@pulumi/pulumi";
import { LAMBDA_MAX_TIMEOUT_SECONDS } from "../lambdaDefaults";
import { memcachedPort } from "../memcachedAccess";
import type { HybridLambdaFargateServiceArgs } from "../HybridLambdaFargateService";
import { PLATFORM_ENVIRONMENT } from "./platform";

/** CPU architectures of the Fargate tasks (and of the image build). */
export const FARGATE_ARCHITECTURES = ["ARM64", "X86_64"] as const;
export type FargateArchitecture = (typeof FARGATE_ARCHITECTURES)[number];

/**
 * Ranges of the failover tuning (`failover.*`): the failover Lambda repairs out-of-range values at run
 * time; a deploy says so instead. `wholeMinutes`: a multiple of 60.
 */
export const FAILOVER_TUNING_LIMITS = {
  failbackDemandFraction: { min: 0.05, max: 0.8, wholeMinutes: false },
  failbackWindowSeconds: { min: 60, max: 3600, wholeMinutes: true },
  demandLagSeconds: { min: 60, max: 900, wholeMinutes: false },
  minResponseTimeSeconds: { min: 0, max: 10, wholeMinutes: false },
} as const;

/** The service's args with every default applied, validated. */
export interface HybridSettings {
  reservedConcurrency: number;
  lambdaTimeout: number;
  provisioned: number;
  baselineCount: number;
  failoverCount: number;
  retention: number;
  cooldownSeconds: number;
  shiftBackDelaySeconds: number;
  failbackDemandFraction: number;
  failbackWindowSeconds: number;
  demandLagSeconds: number;
  minResponseTimeSeconds: number;
  internetFacing: boolean;
  architecture: FargateArchitecture;
  alarmActions: pulumi.Input<string>[];
  upstream: URL;
  upstreamPort: number;
  /** The memcached port both runtimes' rules open (checked against the endpoints). */
  memcachedPort: number;
}

/** What every step of the service's construction shares. */
export interface HybridContext {
  name: string;
  args: HybridLambdaFargateServiceArgs;
  settings: HybridSettings;
  /** The component: parent of every resource. */
  parent: pulumi.Resource;
  /** `{ parent }`: the options of most resources. */
  child: { parent: pulumi.Resource };
}

/** Applies the defaults and checks every limit of the service's args; throws on the first violation. */
export function resolveHybridSettings(name: string, args: HybridLambdaFargateServiceArgs): HybridSettings {
  const fail = (message: string): never => {
    throw new Error(`HybridLambdaFargateService ${name}: ${message}`);
  };
  const reservedConcurrency = args.lambda?.reservedConcurrency ?? 10;
  const lambdaTimeout = args.lambda?.timeoutSeconds ?? 10;
  const provisioned = args.lambda?.provisionedConcurrency ?? 0;
  if (provisioned < 0 || provisioned > reservedConcurrency) {
    fail(`lambda.provisionedConcurrency ${provisioned} must be from 0 to reservedConcurrency (${reservedConcurrency})`);
  }
  const baselineCount = args.fargate?.baselineCount ?? 0;
  const failoverCount = args.fargate?.failoverCount ?? 2;
  const cooldownSeconds = args.failover?.cooldownSeconds ?? 300;
  const shiftBackDelaySeconds = args.failover?.shiftBackDelaySeconds ?? Math.floor(cooldownSeconds / 2);
  if (shiftBackDelaySeconds > cooldownSeconds) {
    fail(`failover.shiftBackDelaySeconds ${shiftBackDelaySeconds} must not exceed cooldownSeconds ${cooldownSeconds}`);
  }
  const tuning = {
    failbackDemandFraction: args.failover?.failbackDemandFraction ?? 0.5,
    failbackWindowSeconds: args.failover?.failbackWindowSeconds ?? 600,
    demandLagSeconds: args.failover?.demandLagSeconds ?? 180,
    minResponseTimeSeconds: args.failover?.minResponseTimeSeconds ?? 0.01,
  };
  for (const [key, { min, max, wholeMinutes }] of Object.entries(FAILOVER_TUNING_LIMITS) as [keyof typeof tuning, (typeof FAILOVER_TUNING_LIMITS)[keyof typeof tuning]][]) {
    const value = tuning[key];
    if (!(Number.isFinite(value) && value >= min && value <= max) || (wholeMinutes && value % 60 !== 0)) {
      fail(`failover.${key} ${value} must be from ${min} to ${max}${wholeMinutes ? " in whole minutes" : ""}`);
    }
  }
  const internetFacing = args.alb?.internetFacing ?? false;
  if (internetFacing && !args.alb?.certificateArn) {
    fail("alb.certificateArn is required when alb.internetFacing is true");
  }
  if (lambdaTimeout < 1 || lambdaTimeout > LAMBDA_MAX_TIMEOUT_SECONDS) {
    fail(`lambda.timeoutSeconds ${lambdaTimeout} must be from 1 to ${LAMBDA_MAX_TIMEOUT_SECONDS}`);
  }
  if (failoverCount < Math.max(1, baselineCount)) {
    fail(`fargate.failoverCount ${failoverCount} must be >= max(1, baselineCount)`);
  }
  const architecture = args.fargate?.architecture ?? "ARM64";
  if (!FARGATE_ARCHITECTURES.includes(architecture)) {
    fail(`fargate.architecture ${JSON.stringify(architecture)} must be "ARM64" or "X86_64"`);
  }
  const upstream = new URL(args.upstreamUrl);
  const clash = Object.keys(args.appEnvironment ?? {}).filter((k) => PLATFORM_ENVIRONMENT.includes(k) || k.startsWith("AWS_"));
  if (clash.length > 0) {
    fail(`appEnvironment may not set ${clash.join(", ")} (set by the platform)`);
  }
  return {
    reservedConcurrency,
    lambdaTimeout,
    provisioned,
    baselineCount,
    failoverCount,
    retention: args.logRetentionDays ?? 14,
    cooldownSeconds,
    shiftBackDelaySeconds,
    ...tuning,
    internetFacing,
    architecture,
    alarmActions: args.alarmActions ?? [],
    upstream,
    upstreamPort: Number(upstream.port || (upstream.protocol === "https:" ? 443 : 80)),
    memcachedPort: memcachedPort(`HybridLambdaFargateService ${name}`, args.memcached),
  };
}
