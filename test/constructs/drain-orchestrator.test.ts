import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DrainOrchestrator } from '../../constructs/drain-orchestrator';
import { addAlbatrossStack } from '../../lib/app';
import { buildConfig } from '../../lib/config';
import { cdkJsonContext, synthStack, TEST_CERTIFICATE_ARN } from '../support/stack';

const { template, stack } = synthStack();
const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: stack.getLogicalId(construct.node.defaultChild as never) });

/** All IAM statements of the orchestrator's role policy. */
function statements(): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('DrainRole'));
  return policies.flatMap(([, p]) => (p as { Properties: { PolicyDocument: { Statement: never[] } } }).Properties.PolicyDocument.Statement);
}
const statementFor = (action: string) => statements().find((s) => ([] as string[]).concat(s.Action).includes(action));

test('EventBridge sends the terminate lifecycle actions of this group to the queue', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: [ref(stack.capacity.autoScalingGroup)] },
    },
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [stack.getLogicalId(stack.drain.queue.node.defaultChild as never), 'Arn'] } })],
  });
});

test('queues are encrypted, TLS-only, with a dead-letter queue after 5 receives', () => {
  template.hasResourceProperties('AWS::SQS::Queue', {
    SqsManagedSseEnabled: true,
    VisibilityTimeout: 600,
    RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
  });
  template.resourcePropertiesCountIs('AWS::SQS::QueuePolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } }, 2);
});

test('the Lambda reads the queue one message at a time with partial batch failures', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Timeout: 300,
    Environment: { Variables: Match.objectLike({ CLUSTER_NAME: ref(stack.capacity.cluster), POWERTOOLS_SERVICE_NAME: 'albatross-drain' }) },
  });
});

test('least privilege: lifecycle actions on this group only', () => {
  const s = statementFor('autoscaling:CompleteLifecycleAction')!;
  expect(([] as string[]).concat(s.Action).sort()).toEqual(['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat']);
  expect(JSON.stringify(s.Resource)).toContain(':autoScalingGroup:*:autoScalingGroupName/');
  expect(JSON.stringify(s.Resource)).toContain(stack.getLogicalId(stack.capacity.autoScalingGroup.node.defaultChild as never));
});

test('least privilege: deregistration from the stack target groups only', () => {
  const s = statementFor('elasticloadbalancing:DeregisterTargets')!;
  expect(s.Action).toBe('elasticloadbalancing:DeregisterTargets');
  const ids = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
  expect(ids(([] as unknown[]).concat(s.Resource))).toEqual(ids(Object.values(stack.targetGroups).map((g) => ref(g))));
});

test('least privilege: ECS actions on this cluster only', () => {
  expect(statementFor('ecs:ListContainerInstances')!.Resource).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(stack.capacity.cluster.node.defaultChild as never), 'Arn'] });
  const update = statementFor('ecs:UpdateContainerInstancesState')!;
  expect(update.Condition).toEqual({ ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [stack.getLogicalId(stack.capacity.cluster.node.defaultChild as never), 'Arn'] } } });
  // Waiting for the tasks to stop: ListTasks on the container instance, DescribeTasks on its tasks.
  for (const action of ['ecs:ListTasks', 'ecs:DescribeTasks']) {
    expect(statementFor(action)!.Condition).toEqual(update.Condition);
    expect(JSON.stringify(statementFor(action)!.Resource)).toContain(`{"Ref":"${stack.getLogicalId(stack.capacity.cluster.node.defaultChild as never)}"},"/*"`);
  }
  expect(JSON.stringify(statementFor('ecs:DescribeTasks')!.Resource)).toContain(':task/');
});

test('only Describe actions (no resource-level permissions) use Resource *', () => {
  for (const s of statements().filter((st) => st.Resource === '*')) {
    for (const action of ([] as string[]).concat(s.Action)) expect(action).toMatch(/:Describe/);
  }
});

test('alarms: Lambda errors, drain errors, duration near the timeout, dead letters', () => {
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 0 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DrainErrors', Namespace: 'Albatross', Threshold: 0 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: 270_000 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
});

test('rejects a timeout outside 1-15 minutes, naming the prop', () => {
  const { stack: s } = synthStack();
  expect(() => new DrainOrchestrator(s, 'Bad', { autoScalingGroup: s.capacity.autoScalingGroup, lifecycleHookName: 'h', cluster: s.capacity.cluster, targetGroups: Object.values(s.targetGroups), timeout: Duration.minutes(20) })).toThrow('DrainOrchestrator timeout must be from 1 to 15 minutes (got 1200 seconds)');
});

test('the handler bundles with the local esbuild (no Docker)', () => {
  const outdir = join(__dirname, '..', '..', 'cdk.out.test-bundle');
  const app = new App({ outdir, context: cdkJsonContext() });
  addAlbatrossStack(app, buildConfig({ certificateArn: TEST_CERTIFICATE_ARN }));
  app.synth();
  const bundles = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.js')));
  expect(bundles.length).toBeGreaterThanOrEqual(1);
  expect(Math.max(...bundles.map((d) => statSync(join(outdir, d, 'index.js')).size))).toBeGreaterThan(10_000);
}, 60_000);
