import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Properties of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Display name of the topic.
   * @default 'Albatross alarms'
   */
  readonly displayName?: string;
}

/**
 * An SNS topic for CloudWatch alarm actions, encrypted with its own KMS key (the AWS-managed SNS
 * key cannot be used: CloudWatch may not use it) and accepting TLS publishes only.
 */
export class AlarmTopic extends Construct {
  /** The topic; subscribe your pager or chat to it. */
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'Encrypts the Albatross alarm topic' });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'Albatross alarms',
      masterKey: key,
      enforceSSL: true,
    });
  }
}
