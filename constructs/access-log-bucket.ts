import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../lib/nag/acknowledge';

/** Properties of an {@link AccessLogBucket}. */
export interface AccessLogBucketProps {
  /**
   * How long log objects are kept before they expire: a whole number of days, at least one (S3
   * lifecycle expirations count in days).
   * @default Duration.days(90)
   */
  readonly retention?: Duration;
  /**
   * What happens to the bucket when the stack is deleted. Logs are evidence: keep them by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULT_RETENTION = Duration.days(90);

/** S3 takes whole days; a token is left to CloudFormation. */
function isWholeDays(retention: Duration): boolean {
  if (retention.isUnresolved()) return true;
  const days = retention.toDays({ integral: false });
  return Number.isInteger(days) && days >= 1;
}

/**
 * An S3 bucket for load balancer access logs: private, encrypted, TLS-only, expiring.
 *
 * ALB log delivery supports only SSE-S3 (not SSE-KMS), so the bucket uses S3-managed keys.
 */
export class AccessLogBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps = {}) {
    super(scope, id);
    const retention = props.retention ?? DEFAULT_RETENTION;
    const valid = isWholeDays(retention);
    this.node.addValidation({
      validate: () => (valid ? [] : [`AccessLogBucket retention must be a whole number of days, at least 1 (got ${retention.toHumanString()})`]),
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // An invalid retention fails synth through the validation above; S3 would throw here first.
      lifecycleRules: [{ expiration: valid ? retention : undefined, abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    acknowledgeNag(this.bucket, 'S1', 'This bucket holds access logs; logging its own access would need another log bucket, recursively. Object-level access is covered by CloudTrail data events where required.');
  }
}
