import { ArnFormat, CfnElement, Duration, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS, DURATION_ALARM_FRACTION, MAX_DRAIN_TIMEOUT_SECONDS } from '../lib/drain/budget';
import { acknowledgeNag } from '../lib/nag/acknowledge';
import { cachedBundle } from './cached-bundle';

/** Properties of a {@link DrainOrchestrator}. */
export interface DrainOrchestratorProps {
  /** The group whose terminating instances are drained. */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /** Name of the group's terminate lifecycle hook. */
  readonly lifecycleHookName: string;
  /** ECS cluster the instances serve: their container instances are set DRAINING first. */
  readonly cluster: ecs.ICluster;
  /** Target groups the instances may be registered in; the only ones it may deregister from. */
  readonly targetGroups: elbv2.IApplicationTargetGroup[];
  /**
   * Where the orchestrator's alarms notify.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The lifecycle hook's heartbeat timeout. Each run starts with a heartbeat and hands over to the
   * next run before it runs out; the Lambda timeout must be below it.
   * @default - not known: runs are bounded by the Lambda timeout only
   */
  readonly heartbeatTimeout?: Duration;
  /**
   * Lambda timeout; drains longer than one run continue through the queue. 1–15 minutes, and
   * below `heartbeatTimeout`.
   * @default Duration.minutes(5), or 60 seconds less than `heartbeatTimeout` when that is shorter
   */
  readonly timeout?: Duration;
  /**
   * Bound on one drain, from its first run: when it has passed, the action is completed whatever
   * the drain's state (it also caps the number of runs). At least the Lambda timeout, at most 48 hours.
   * @default - the engine's own bound for the largest deregistration delay AWS allows: 3600 s + 30 s + 10 min for ECS
   */
  readonly drainTimeout?: Duration;
}

/** AWS's advice for an SQS event source: a visibility timeout of at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

const DEFAULT_TIMEOUT_SECONDS = 300;

/**
 * The handler's TypeScript source, which is what gets bundled: beside constructs/ when the app runs
 * from the sources, two levels up when it runs compiled from dist/constructs/.
 */
function handlerEntry(): string {
  const candidates = [join(__dirname, '..', 'lambda', 'drain-handler.ts'), join(__dirname, '..', '..', 'lambda', 'drain-handler.ts')];
  return candidates.find((path) => existsSync(path)) ?? candidates[0];
}

// Pinned to the Node major of package.json engines: NODEJS_LATEST moves with aws-cdk-lib releases.
const RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * The handler's code. When the stack is bundled, the bundle comes from the content-addressed cache
 * (constructs/cached-bundle.ts), built with the options NodejsFunction would use: a synth whose
 * handler and dependencies are unchanged does not bundle again (docs/synth.md). When it is not
 * (`cdk synth --exclusively` of another stack, tests), NodejsFunction skips bundling itself.
 */
function handlerCode(scope: Construct): Pick<NodejsFunctionProps, 'code' | 'handler' | 'entry' | 'bundling'> {
  const entry = handlerEntry();
  if (!Stack.of(scope).bundlingRequired) {
    // Local esbuild only: synth never needs Docker.
    return { entry, handler: 'handler', bundling: { forceDockerBundling: false, minify: true, sourceMap: true, format: OutputFormat.CJS } };
  }
  const bundle = cachedBundle('drain-handler', {
    entry,
    projectRoot: join(entry, '..', '..'),
    target: RUNTIME.name.replace(/^nodejs(\d+).*$/, 'node$1'),
    // A runtime that follows the latest Node.js has no fixed SDK version to rely on: bundle it.
    external: RUNTIME.isVariable ? [] : ['@aws-sdk/*'],
    minify: true,
    sourceMap: true,
  });
  return { code: lambda.Code.fromAsset(bundle), handler: 'index.handler' };
}

/** The Lambda timeout: given, or the default kept below the heartbeat timeout. */
function functionTimeout(props: DrainOrchestratorProps): Duration {
  if (props.timeout) return props.timeout;
  const heartbeat = props.heartbeatTimeout;
  if (heartbeat === undefined || heartbeat.isUnresolved()) return Duration.seconds(DEFAULT_TIMEOUT_SECONDS);
  return Duration.seconds(Math.max(60, Math.min(DEFAULT_TIMEOUT_SECONDS, heartbeat.toSeconds() - 60)));
}

/** Problems with the props, each naming the prop; raised at synth, scoped to the construct. */
function problems(props: DrainOrchestratorProps, timeout: Duration): string[] {
  const found: string[] = [];
  const known = (d?: Duration): d is Duration => d !== undefined && !d.isUnresolved();
  if (known(timeout) && (timeout.toSeconds() < 60 || timeout.toSeconds() > 900)) {
    found.push(`DrainOrchestrator timeout must be from 1 to 15 minutes (got ${timeout.toSeconds()} seconds)`);
  }
  const heartbeat = props.heartbeatTimeout;
  if (known(heartbeat) && known(timeout) && timeout.toSeconds() >= heartbeat.toSeconds()) {
    found.push(
      `DrainOrchestrator timeout (${timeout.toSeconds()} seconds) must be below heartbeatTimeout (${heartbeat.toSeconds()} seconds): each run starts with a heartbeat and must re-queue before it runs out`,
    );
  }
  if (props.targetGroups.length === 0) found.push('DrainOrchestrator targetGroups must contain at least one target group');
  const drain = props.drainTimeout;
  if (known(drain) && known(timeout) && (drain.toSeconds() < timeout.toSeconds() || drain.toSeconds() > MAX_DRAIN_TIMEOUT_SECONDS)) {
    found.push(`DrainOrchestrator drainTimeout must be from the Lambda timeout (${timeout.toSeconds()} seconds) to ${MAX_DRAIN_TIMEOUT_SECONDS} seconds (got ${drain.toSeconds()} seconds)`);
  }
  return found;
}

/**
 * Drains each instance the Auto Scaling group terminates before it goes away.
 *
 * EventBridge sends the terminate lifecycle event to an SQS queue; a Lambda drains the instance
 * (ECS DRAINING, deregistration, wait for in-flight requests) and completes the action. A drain
 * longer than one run records a heartbeat and re-queues itself with a delay — SQS rather than a
 * Step Functions wait loop: the state is one small message, redelivery and a dead-letter queue
 * come free, and there is no second service to operate. Failed messages land in the DLQ, and the
 * hook's own timeout (default result CONTINUE) still ends every wait.
 */
export class DrainOrchestrator extends Construct {
  readonly function: NodejsFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Where EventBridge puts terminate events it could not deliver to the queue (each one is an instance not drained). */
  readonly eventDeadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: DrainOrchestratorProps) {
    super(scope, id);
    const timeout = functionTimeout(props);
    this.node.addValidation({ validate: () => problems(props, timeout) });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.eventDeadLetterQueue = new sqs.Queue(this, 'EventDeadLetterQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledgeNag(this.eventDeadLetterQueue, 'SQS3', "It is a dead-letter queue itself: the EventBridge target's (cdk-nag recognises only SQS redrive policies); its messages raise the EventDeadLetters alarm.");
    this.function = this.createFunction(props, timeout);
    this.grantLeastPrivilege(props);
    this.rule = new events.Rule(this, 'TerminateRule', {
      description: 'Terminate lifecycle actions of the Albatross Auto Scaling group',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-terminate Lifecycle Action'],
        // The hook name too: another terminate hook on the group (say, for log shipping) is not ours to complete.
        detail: { AutoScalingGroupName: [props.autoScalingGroup.autoScalingGroupName], LifecycleHookName: [props.lifecycleHookName] },
      },
      // Its own DLQ: an event EventBridge cannot deliver (queue policy, KMS, throttling past its
      // 24 h of retries) would otherwise vanish, and that instance would not be drained at all.
      targets: [new targets.SqsQueue(this.queue, { deadLetterQueue: this.eventDeadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    this.createAlarms(timeout, props.alarmTopic);
  }

  private createFunction(props: DrainOrchestratorProps, timeout: Duration): NodejsFunction {
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    // An own role, without the AWS-managed basic execution policy: logs only to its log group.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const fn = new NodejsFunction(this, 'Function', {
      ...handlerCode(this),
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout,
      role,
      logGroup,
      description: 'Albatross: drains terminating instances, then completes their lifecycle action',
      environment: {
        QUEUE_URL: this.queue.queueUrl,
        CLUSTER_NAME: props.cluster.clusterName,
        TARGET_GROUP_ARNS: props.targetGroups.map((g) => g.targetGroupArn).join(','),
        FUNCTION_TIMEOUT_SECONDS: String(timeout.toSeconds()),
        DRAIN_TIMEOUT_SECONDS: String(props.drainTimeout?.toSeconds() ?? DEFAULT_DRAIN_TIMEOUT_SECONDS),
        ...(props.heartbeatTimeout ? { HEARTBEAT_TIMEOUT_SECONDS: String(props.heartbeatTimeout.toSeconds()) } : {}),
        POWERTOOLS_SERVICE_NAME: 'albatross-drain',
        POWERTOOLS_METRICS_NAMESPACE: 'Albatross',
      },
    });
    fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }));
    return fn;
  }

  private grantLeastPrivilege(props: DrainOrchestratorProps): void {
    const stack = Stack.of(this);
    const fn = this.function;
    const asgArn = stack.formatArn({ service: 'autoscaling', resource: 'autoScalingGroup', resourceName: `*:autoScalingGroupName/${props.autoScalingGroup.autoScalingGroupName}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'], resources: [asgArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['elasticloadbalancing:DeregisterTargets'], resources: props.targetGroups.map((g) => g.targetGroupArn) }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:ListContainerInstances'], resources: [props.cluster.clusterArn] }));
    const inCluster = { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } };
    // ListTasks is authorized on the container instance it filters by; DescribeTasks on the tasks.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeContainerInstances', 'ecs:UpdateContainerInstancesState', 'ecs:ListTasks'],
        resources: [stack.formatArn({ service: 'ecs', resource: 'container-instance', resourceName: `${props.cluster.clusterName}/*` })],
        conditions: inCluster,
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:DescribeTasks'],
        resources: [stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${props.cluster.clusterName}/*` })],
        conditions: inCluster,
      }),
    );
    // Describe* calls of ELBv2 have no resource-level permissions. No DescribeTags (the Lambda
    // scopes by target group ARNs, not by stack tag) and no DescribeAutoScalingInstances (it accepts
    // unregistered targets, so never asks whether the instance exists).
    const describe = new iam.PolicyStatement({
      actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTargetGroupAttributes'],
      resources: ['*'],
    });
    fn.addToRolePolicy(describe);
    this.queue.grantSendMessages(fn);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    const logicalId = (c: Construct) => `<${stack.getLogicalId(c.node.defaultChild as CfnElement)}>`;
    acknowledgeNag(this, 'IAM5[Resource::*]', 'ELBv2 DescribeTargetGroups/DescribeTargetHealth/DescribeTargetGroupAttributes do not support resource-level permissions; mutating actions are scoped to this group, cluster and target groups.');
    acknowledgeNag(this, `IAM5[Resource::arn:<AWS::Partition>:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/${logicalId(props.autoScalingGroup)}]`, 'The group id part of an Auto Scaling group ARN is not known before deploy; the ARN is pinned to this group by name.');
    acknowledgeNag(this, `IAM5[Resource::arn:<AWS::Partition>:ecs:${region}:${account}:container-instance/${logicalId(props.cluster)}/*]`, 'Container instance ids are not known before deploy; the statement is limited to this cluster by ARN and by the ecs:cluster condition.');
    acknowledgeNag(this, `IAM5[Resource::arn:<AWS::Partition>:ecs:${region}:${account}:task/${logicalId(props.cluster)}/*]`, 'Task ids are not known before deploy; the statement is limited to this cluster by ARN and by the ecs:cluster condition.');
  }

  private createAlarms(timeout: Duration, topic?: sns.ITopic): void {
    const add = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const alarm = new cloudwatch.Alarm(this, id, { metric, threshold, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, alarmDescription: description });
      if (topic) alarm.addAlarmAction(new actions.SnsAction(topic));
      this.alarms.push(alarm);
    };
    add('Errors', this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 0, 'The drain orchestrator Lambda failed');
    add('DrainErrors', new cloudwatch.Metric({ namespace: 'Albatross', metricName: 'DrainErrors', dimensionsMap: { service: 'albatross-drain' }, period: Duration.minutes(5), statistic: 'Sum' }), 0, 'A drain run failed (handed over to the next run) or a drain timed out (the instance was released at its timeout)');
    // Runs keep a 15 % margin (lib/drain/budget.ts), so a normal long drain stays below this.
    add('DurationNearTimeout', this.function.metricDuration({ period: Duration.minutes(5), statistic: 'Maximum' }), timeout.toMilliseconds() * DURATION_ALARM_FRACTION, 'A drain run came within 10% of the Lambda timeout');
    add('FailedInvocations', new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'FailedInvocations', dimensionsMap: { RuleName: this.rule.ruleName }, period: Duration.minutes(5), statistic: 'Sum' }), 0, 'EventBridge could not deliver a terminate lifecycle event to the drain queue: that instance is not drained');
    add('EventDeadLetters', this.eventDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 0, 'Terminate lifecycle events EventBridge could not deliver (event dead-letter queue)');
    add('DeadLetters', this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 0, 'Lifecycle messages could not be handled (dead-letter queue)');
  }
}
