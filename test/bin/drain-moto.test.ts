/**
 * The drain CLI end to end against moto_server: real ECS, ELBv2 and Auto Scaling HTTP endpoints on
 * loopback, an independent implementation of the APIs. What it tells us that our own mocks cannot:
 * the requests the SDK really sends are accepted as AWS shapes them (ListTasks by container
 * instance and desired status, DescribeTasks, UpdateContainerInstancesState, DeregisterTargets),
 * and 150 tasks — more than one DescribeTasks call takes — are all accounted for. moto's tasks move
 * through their lifecycle (…, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED) as they are
 * described, as ECS moves them after DRAINING.
 *
 * Not covered by moto (and so kept at the SDK boundary): lifecycle-action completion and
 * heartbeats, ListTasks pagination (moto answers in one page), the 100-task limit of DescribeTasks
 * (moto does not enforce it), and the ListContainerInstances filter (moto ignores it).
 */
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, CreateClusterCommand, RegisterContainerInstanceCommand, RegisterTaskDefinitionCommand, StartTaskCommand } from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyTargetGroupAttributesCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { buildCli, runDrain } from '../support/drain-cli';
import { DIST_BUILD_TIMEOUT_MS } from '../support/dist';
import { ec2Query, MotoServer, startMoto } from '../support/moto';

let moto: MotoServer;
const TASKS = 150;

beforeAll(buildCli, DIST_BUILD_TIMEOUT_MS);

beforeAll(async () => {
  moto = await startMoto();
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

test(`drains an ECS instance with ${TASKS} tasks: DRAINING, every task stopped, deregistered, exit 0`, async () => {
  const config = { endpoint: moto.url, region: 'eu-west-1', credentials };
  const instanceId = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(await ec2Query(moto.url, { Action: 'RunInstances', ImageId: 'ami-12c6146b', MinCount: '1', MaxCount: '1', InstanceType: 'm5.large' }))![1];
  const vpcId = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(await ec2Query(moto.url, { Action: 'DescribeVpcs' }))![1];
  const ecs = new ECSClient(config);
  await ecs.send(new CreateClusterCommand({ clusterName: 'albatross' }));
  const registered = await ecs.send(new RegisterContainerInstanceCommand({ cluster: 'albatross', instanceIdentityDocument: JSON.stringify({ instanceId, region: 'eu-west-1' }) }));
  const containerInstance = registered.containerInstance!.containerInstanceArn!;
  await ecs.send(new RegisterTaskDefinitionCommand({ family: 'web', containerDefinitions: [{ name: 'web', image: 'web', memory: 1, cpu: 1 }] }));
  for (let i = 0; i < TASKS; i++) await ecs.send(new StartTaskCommand({ cluster: 'albatross', taskDefinition: 'web', containerInstances: [containerInstance], group: 'service:web' }));
  const elbv2 = new ElasticLoadBalancingV2Client(config);
  const group = (await elbv2.send(new CreateTargetGroupCommand({ Name: 'app', Protocol: 'HTTP', Port: 80, VpcId: vpcId, TargetType: 'instance' }))).TargetGroups![0];
  await elbv2.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: group.TargetGroupArn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] }));
  await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: group.TargetGroupArn, Targets: [{ Id: instanceId, Port: 32768 }] }));

  const env = { AWS_ENDPOINT_URL: moto.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1', AWS_PROFILE: '' };
  const result = await runDrain(['--target', instanceId, '--cluster', 'albatross', '--target-group', group.TargetGroupArn!, '--poll-interval', '0.1', '--timeout', '300', '--json'], env);
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.code).toBe(0);
  const [report] = JSON.parse(result.stdout) as { state: string; ecs: Record<string, unknown>; registrations: { id: string; port: number; endedBy: string }[]; steps: { state: string }[] }[];
  expect(report.state).toBe('drained');
  // --timeout 300 leaves 240 s for the ECS wait (the delay + 30 s are kept for the deregistration).
  expect(report.steps.map((s) => s.state)).toEqual(expect.arrayContaining(['ecs-draining', 'deregistering', 'waiting', 'drained']));
  expect(report.ecs).toMatchObject({ cluster: 'albatross', containerInstanceArn: containerInstance, setDrainingByThisRun: true, serviceTasksStopped: true, tasksStopped: true, standaloneTasks: 0 });
  expect(report.registrations).toEqual([expect.objectContaining({ id: instanceId, port: 32768 })]);
  // What moto now holds: the container instance DRAINING, the target no longer registered.
  const described = await ecs.send(new DescribeContainerInstancesCommand({ cluster: 'albatross', containerInstances: [containerInstance] }));
  expect(described.containerInstances?.[0]?.status).toBe('DRAINING');
  const health = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: group.TargetGroupArn, Targets: [{ Id: instanceId, Port: 32768 }] }));
  expect(health.TargetHealthDescriptions?.[0]?.TargetHealth?.State).toBe('unused');
  // moto moves a task one step each time it is described: only a task the drain described until
  // it stopped is STOPPED now — so all 150, not only the first 100, were looked at.
  const arns = [...((await ecs.send(new ListTasksCommand({ cluster: 'albatross', containerInstance, desiredStatus: 'RUNNING' }))).taskArns ?? []), ...((await ecs.send(new ListTasksCommand({ cluster: 'albatross', containerInstance, desiredStatus: 'STOPPED' }))).taskArns ?? [])];
  expect(arns).toHaveLength(TASKS);
  const statuses: string[] = [];
  for (let i = 0; i < arns.length; i += 100) statuses.push(...((await ecs.send(new DescribeTasksCommand({ cluster: 'albatross', tasks: arns.slice(i, i + 100) }))).tasks ?? []).map((t) => t.lastStatus!));
  expect(statuses).toEqual(Array(TASKS).fill('STOPPED'));
}, 120_000);
