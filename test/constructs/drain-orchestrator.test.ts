import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DrainOrchestrator, DrainOrchestratorProps } from '../../constructs/drain-orchestrator';
import { DURATION_ALARM_FRACTION, safetyMarginMs } from '../../lib/drain/budget';
import { addAlbatrossStack } from '../../lib/app';
import { buildConfig } from '../../lib/config';
import { minimumMajor } from '../../lib/util/node-support';
import { cdkJsonContext, synthStack, TEST_CERTIFICATE_ARN, testApp, WITHOUT_BUILTIN_VALIDATION } from '../support/stack';

const { template, stack } = synthStack();
const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: stack.getLogicalId(construct.node.defaultChild as never) });

/** All IAM statements of the orchestrator's role policy. */
function statements(): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('DrainRole'));
  return policies.flatMap(([, p]) => (p as { Properties: { PolicyDocument: { Statement: never[] } } }).Properties.PolicyDocument.Statement);
}
const statementFor = (action: string) => statements().find((s) => ([] as string[]).concat(s.Action).includes(action));

/** The drain Lambda's timeout in the stack, in seconds (the stack may derive it from the hook's heartbeat). */
function drainFunctionTimeout(t: Template = template): number {
  const fns = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'albatross-drain' } } } }));
  expect(fns).toHaveLength(1);
  return (fns[0] as { Properties: { Timeout: number } }).Properties.Timeout;
}

/** A second orchestrator in a fresh stack, with these props over the stack's own. */
function standalone(props: Partial<DrainOrchestratorProps>): { orchestrator: DrainOrchestrator; template: Template } {
  const s = addAlbatrossStack(testApp(), buildConfig({ certificateArn: TEST_CERTIFICATE_ARN }));
  const orchestrator = new DrainOrchestrator(s, 'Standalone', { autoScalingGroup: s.capacity.autoScalingGroup, lifecycleHookName: 'h', cluster: s.capacity.cluster, targetGroups: Object.values(s.targetGroups), ...props });
  return { orchestrator, template: Template.fromStack(s) };
}

test('EventBridge sends the terminate lifecycle actions of this group to the queue', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: [ref(stack.capacity.autoScalingGroup)], LifecycleHookName: [ref(stack.capacity.terminateHook)] },
    },
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [stack.getLogicalId(stack.drain.queue.node.defaultChild as never), 'Arn'] } })],
  });
});

test('queues are encrypted, TLS-only, with a dead-letter queue after 5 receives; visibility 6x the Lambda timeout (AWS advice for SQS event sources)', () => {
  expect(drainFunctionTimeout()).toBe(240);
  template.hasResourceProperties('AWS::SQS::Queue', {
    SqsManagedSseEnabled: true,
    VisibilityTimeout: 6 * drainFunctionTimeout(),
    RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
  });
  template.resourcePropertiesCountIs('AWS::SQS::QueuePolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } }, 3);
});

test('the EventBridge target has its own dead-letter queue, and undelivered events raise an alarm', () => {
  const dlq = stack.getLogicalId(stack.drain.eventDeadLetterQueue.node.defaultChild as never);
  template.hasResourceProperties('AWS::Events::Rule', {
    Targets: [Match.objectLike({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } }, RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 } })],
  });
  // EventBridge may write to it (the rule's ARN as the source).
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [{ Ref: dlq }],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' } })]) },
  });
  const rule = stack.getLogicalId(stack.drain.rule.node.defaultChild as never);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Events', MetricName: 'FailedInvocations', Dimensions: [{ Name: 'RuleName', Value: { Ref: rule } }], Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }] });
});

test('the drain timeout reaches the Lambda (default: the engine bound for a 3600 s delay), and is validated', () => {
  const variables = (tt: Template, o: DrainOrchestrator) =>
    (tt.findResources('AWS::Lambda::Function')[Stack.of(o).getLogicalId(o.function.node.defaultChild as CfnElement)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
  const byDefault = standalone({});
  expect(variables(byDefault.template, byDefault.orchestrator).DRAIN_TIMEOUT_SECONDS).toBe(String(3600 + 30 + 600));
  const given = standalone({ drainTimeout: Duration.hours(2) });
  expect(variables(given.template, given.orchestrator).DRAIN_TIMEOUT_SECONDS).toBe('7200');
  expect(() => standalone({ drainTimeout: Duration.seconds(100) })).toThrow('DrainOrchestrator drainTimeout must be from the Lambda timeout (300 seconds) to 172800 seconds (got 100 seconds)');
});

test('the Lambda reads the queue one message at a time with partial batch failures', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Timeout: drainFunctionTimeout(),
    Environment: { Variables: Match.objectLike({ CLUSTER_NAME: ref(stack.capacity.cluster), POWERTOOLS_SERVICE_NAME: 'albatross-drain', FUNCTION_TIMEOUT_SECONDS: String(drainFunctionTimeout()) }) },
  });
});

test('timeout: 5 minutes by default, 60 s below the heartbeat timeout when that is shorter; both reach the Lambda', () => {
  const { orchestrator, template: t } = standalone({});
  expect(orchestrator.function.timeout!.toSeconds()).toBe(300);
  const withHeartbeat = standalone({ heartbeatTimeout: Duration.seconds(300) });
  expect(withHeartbeat.orchestrator.function.timeout!.toSeconds()).toBe(240);
  const variables = (tt: Template, o: DrainOrchestrator) =>
    (tt.findResources('AWS::Lambda::Function')[Stack.of(o).getLogicalId(o.function.node.defaultChild as CfnElement)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
  expect(variables(withHeartbeat.template, withHeartbeat.orchestrator)).toMatchObject({ FUNCTION_TIMEOUT_SECONDS: '240', HEARTBEAT_TIMEOUT_SECONDS: '300' });
  expect(variables(t, orchestrator).HEARTBEAT_TIMEOUT_SECONDS).toBeUndefined();
});

test('rejects a Lambda timeout not below the heartbeat timeout, naming both props', () => {
  expect(() => standalone({ heartbeatTimeout: Duration.seconds(300), timeout: Duration.seconds(300) })).toThrow(
    'DrainOrchestrator timeout (300 seconds) must be below heartbeatTimeout (300 seconds)',
  );
  expect(() => standalone({ heartbeatTimeout: Duration.seconds(30) })).toThrow('must be below heartbeatTimeout (30 seconds)');
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

test('no grants the Lambda never uses: DescribeTags (it scopes by ARN), DescribeAutoScalingInstances (it accepts unregistered targets)', () => {
  const granted = statements().flatMap((st) => ([] as string[]).concat(st.Action));
  expect(granted).not.toContain('elasticloadbalancing:DescribeTags');
  expect(granted).not.toContain('autoscaling:DescribeAutoScalingInstances');
  expect(granted).toEqual(expect.arrayContaining(['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTargetGroupAttributes']));
});

test('only Describe actions (no resource-level permissions) use Resource *', () => {
  for (const s of statements().filter((st) => st.Resource === '*')) {
    for (const action of ([] as string[]).concat(s.Action)) expect(action).toMatch(/:Describe/);
  }
});

test('alarms: Lambda errors, drain errors, duration near the timeout, dead letters', () => {
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 0 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DrainErrors', Namespace: 'Albatross', Threshold: 0 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Duration', Threshold: drainFunctionTimeout() * 1000 * 0.9 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
});

test('the duration alarm sits above a normal run: every run keeps at least 15 % of the timeout free, +10 s slack', () => {
  for (const seconds of [60, 120, 300, 600, 900]) {
    const timeoutMs = seconds * 1000;
    expect(safetyMarginMs(timeoutMs)).toBeGreaterThanOrEqual(0.15 * timeoutMs);
    expect(timeoutMs - safetyMarginMs(timeoutMs) + 10_000).toBeLessThanOrEqual(DURATION_ALARM_FRACTION * timeoutMs);
  }
  const { orchestrator, template: t } = standalone({ timeout: Duration.minutes(10) });
  const alarm = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Duration' } })).map((a) => (a as { Properties: { Threshold: number } }).Properties.Threshold);
  expect(alarm).toContain(600_000 * DURATION_ALARM_FRACTION);
  expect(orchestrator.alarms).toHaveLength(6);
});

test('rejects a timeout outside 1-15 minutes at synth, naming the prop and the construct path', () => {
  const s = addAlbatrossStack(testApp(), buildConfig({ certificateArn: TEST_CERTIFICATE_ARN }));
  // Built without an error: the problem is the construct's, reported when the app is synthesized.
  new DrainOrchestrator(s, 'Bad', { autoScalingGroup: s.capacity.autoScalingGroup, lifecycleHookName: 'h', cluster: s.capacity.cluster, targetGroups: Object.values(s.targetGroups), timeout: Duration.seconds(30) });
  expect(() => Template.fromStack(s)).toThrow('[Albatross/Bad] DrainOrchestrator timeout must be from 1 to 15 minutes (got 30 seconds)');
});

test('the handler bundles with the local esbuild (no Docker)', () => {
  const outdir = join(__dirname, '..', '..', 'cdk.out.test-bundle');
  const app = new App({ ...WITHOUT_BUILTIN_VALIDATION, outdir, context: cdkJsonContext() });
  addAlbatrossStack(app, buildConfig({ certificateArn: TEST_CERTIFICATE_ARN }));
  app.synth();
  const bundles = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.js')));
  expect(bundles.length).toBeGreaterThanOrEqual(1);
  expect(Math.max(...bundles.map((d) => statSync(join(outdir, d, 'index.js')).size))).toBeGreaterThan(10_000);
}, 60_000);

test("the function runs on the Node major of package.json's engines (pinned, not NODEJS_LATEST)", () => {
  const engines = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const fns = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'albatross-drain' } } } }));
  expect(fns.map((f) => (f as { Properties: { Runtime: string } }).Properties.Runtime)).toEqual([`nodejs${minimumMajor(engines)}.x`]);
});
