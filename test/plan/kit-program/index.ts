import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** A component with children, as a library's would be. */
class Shelf extends pulumi.ComponentResource {
  readonly bucketNames: pulumi.Output<string>[];
  constructor(name: string, count: number, opts?: pulumi.ComponentResourceOptions) {
    super("kit:index:Shelf", name, {}, opts);
    const buckets = Array.from({ length: count }, (_, i) => new aws.s3.Bucket(`${name}-${i}`, { tags: { greeting: config.require("greeting") } }, { parent: this }));
    new aws.s3.BucketPublicAccessBlock(`${name}-0-block`, { bucket: buckets[0].id, blockPublicAcls: true }, { parent: buckets[0] });
    this.bucketNames = buckets.map((b) => b.bucket);
    this.registerOutputs({});
  }
}

const config = new pulumi.Config();

// Pulumi calls an exported (async) function and exports what it returns.
export = async () => {
  const zones = await aws.getAvailabilityZones({ filters: [{ name: "zone-type", values: ["availability-zone"] }] });
  const shelf = new Shelf("shelf", config.requireNumber("buckets"));
  return {
    greeting: config.require("greeting"),
    labels: config.getObject<Record<string, string>>("labels") ?? {},
    token: config.getSecret("token"),
    firstZone: { name: zones.names[0], id: zones.zoneIds[0] },
    bucketNames: shelf.bucketNames,
  };
};
