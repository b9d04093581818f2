import * as aws from "@pulumi/aws";
import type { HybridContext } from "./settings";

export interface LargeResponseStore {
  bucket: aws.s3.Bucket;
  /** Grants a runtime's role put/get on the bucket's objects (`<name>-<who>-large-responses`). */
  grantObjects(role: aws.iam.Role, who: string): aws.iam.RolePolicy;
}

/** Large responses: the ALB caps a Lambda response at 1 MB; bigger bodies go to S3 + presigned redirect. */
export function createLargeResponseStore({ name, child }: HybridContext): LargeResponseStore {
  const bucket = new aws.s3.Bucket(`${name}-large`, { forceDestroy: true }, child);
  // Presigned URLs and the SDK use HTTPS; nothing may read or write these bodies in clear.
  new aws.s3.BucketPolicy(`${name}-large`, {
    bucket: bucket.id,
    policy: bucket.arn.apply((arn) => JSON.stringify({
      Version: "2012-10-17",
      Statement: [{
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }],
    })),
  }, child);
  new aws.s3.BucketPublicAccessBlock(`${name}-large`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  }, child);
  new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-large`, {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
  }, child);
  new aws.s3.BucketOwnershipControls(`${name}-large`, {
    bucket: bucket.id,
    rule: { objectOwnership: "BucketOwnerEnforced" },
  }, child);
  new aws.s3.BucketLifecycleConfiguration(`${name}-large`, {
    bucket: bucket.id,
    rules: [{
      id: "expire-large-responses",
      status: "Enabled",
      filter: { prefix: "" },
      expiration: { days: 1 },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    }],
  }, child);
  const grantObjects = (role: aws.iam.Role, who: string): aws.iam.RolePolicy =>
    new aws.iam.RolePolicy(`${name}-${who}-large-responses`, {
      role: role.id,
      policy: bucket.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "LargeResponses", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: `${arn}/*` }],
      })),
    }, child);
  return { bucket, grantObjects };
}
