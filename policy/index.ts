// The policy pack for real previews: `pulumi preview --stack <s> --policy-pack policy`.
// Only the constructor lives here: it starts the analyzer server and never returns, so tests and the
// offline plan import the policies from ./policies instead.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("serverless-cache", {
  description: "Invariants of the serverless-cache architecture: private networking (no world or prefix-list ingress, nothing public on memcached's port, egress to the world only on allowed ports), "
    + "memcached isolation (security-group sources only, rules matched by dependency and by id), least-privilege IAM (no Action/Resource wildcards beyond documented exceptions), "
    + "Lambda permissions scoped by sourceArn, Lambda guardrails, private cached API, private encrypted buckets, multi-AZ production, subnets placed by zone ID in zones the services offer, "
    + "alarms that notify, bounded async invocations.",
  enforcementLevel: "mandatory",
  policies,
});
