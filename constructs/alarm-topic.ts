import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Display name of the topic.
   * @default 'Albatross alarms'
   */
  readonly displayName?: string;
  /**
   * An e-mail address subscribed to the topic. AWS sends it a confirmation message; nothing is
   * delivered until the link in it is followed.
   * @default - no subscription
   */
  readonly email?: string;
}

/** The actions SNS needs on the key to encrypt a message a publisher sends to the topic. */
const PUBLISH_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];

/** The Auto Scaling service-linked role: it sends the group's notifications. */
export function autoScalingServiceLinkedRoleArn(stack: Stack): string {
  return `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
}

/**
 * An SNS topic for CloudWatch alarm actions and Auto Scaling notifications, encrypted with its own
 * KMS key (the AWS-managed SNS key cannot be used: other AWS services may not use it), accepting
 * TLS publishes only.
 *
 * The topic has a resource policy (the TLS-only deny), which replaces SNS's default policy, so
 * CloudWatch gets an explicit Allow, scoped to this account's alarms. The key lets every publisher
 * encrypt: CloudWatch, and the Auto Scaling service-linked role and service.
 */
export class AlarmTopic extends Construct {
  /** The topic; subscribe your pager or chat to it. */
  readonly topic: sns.Topic;
  /** The key that encrypts the topic. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'Encrypts the Albatross alarm topic' });
    this.allowPublishersToUseKey(stack);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'Albatross alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /**
   * SNS encrypts each message with the publisher's own access to the key, so every publisher needs
   * it. The service-linked role is matched by `aws:PrincipalArn` rather than named as principal:
   * KMS rejects a key policy naming a role that does not exist yet, and the role is only created
   * with an account's first Auto Scaling group, which this stack creates after the key.
   */
  private allowPublishersToUseKey(stack: Stack): void {
    this.key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), ...PUBLISH_KEY_ACTIONS);
    this.key.grant(new iam.ServicePrincipal('autoscaling.amazonaws.com'), ...PUBLISH_KEY_ACTIONS);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAutoScalingServiceLinkedRole',
        principals: [new iam.AnyPrincipal()],
        actions: PUBLISH_KEY_ACTIONS,
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:PrincipalAccount': stack.account },
          ArnEquals: { 'aws:PrincipalArn': autoScalingServiceLinkedRoleArn(stack) },
        },
      }),
    );
  }
}
