import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ACCESS_LOG_RETENTION_DAYS_RANGE, DEFAULT_CONFIG } from '../lib/config';
import { acknowledgeNag } from '../lib/nag/acknowledge';

/** Properties of an {@link AccessLogBucket}. */
export interface AccessLogBucketProps {
  /**
   * Days to keep log objects before they expire, 1–3650.
   * @default 90 (the configuration's `loadBalancer.accessLogRetentionDays`)
   */
  readonly retentionDays?: number;
  /**
   * What happens to the bucket when the stack is deleted. Logs are evidence: keep them by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
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
    const retentionDays = props.retentionDays ?? DEFAULT_CONFIG.loadBalancer.accessLogRetentionDays;
    const { min, max } = ACCESS_LOG_RETENTION_DAYS_RANGE;
    if (!Number.isInteger(retentionDays) || retentionDays < min || retentionDays > max) {
      throw new Error(`AccessLogBucket retentionDays must be an integer from ${min} to ${max} (got ${retentionDays})`);
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(retentionDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    acknowledgeNag(this.bucket, 'S1', 'This bucket holds access logs; logging its own access would need another log bucket, recursively. Object-level access is covered by CloudTrail data events where required.');
  }
}
