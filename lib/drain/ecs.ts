import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  DesiredStatus,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { RetryPolicy, withThrottlingRetry } from './retry';

/** The container instance of an EC2 instance in a cluster, or undefined when it is not there. */
export async function findContainerInstance(ecs: ECSClient, cluster: string, instanceId: string, retry: RetryPolicy = {}): Promise<string | undefined> {
  const list = await withThrottlingRetry(() => ecs.send(new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId == ${instanceId}` })), retry);
  return list.containerInstanceArns?.[0];
}

/**
 * Sets the container instance DRAINING (idempotent); ECS then moves its service tasks elsewhere.
 * Returns true when this call changed it (so an interrupted run can say how to undo it).
 */
export async function setDraining(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<boolean> {
  const described = await withThrottlingRetry(() => ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstanceArn] })), retry);
  if (described.containerInstances?.[0]?.status === 'DRAINING') return false;
  await withThrottlingRetry(() => ecs.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [containerInstanceArn], status: 'DRAINING' })), retry);
  return true;
}

async function listTaskArns(ecs: ECSClient, cluster: string, containerInstance: string, desiredStatus: DesiredStatus, retry: RetryPolicy): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await withThrottlingRetry(() => ecs.send(new ListTasksCommand({ cluster, containerInstance, desiredStatus, nextToken })), retry);
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/**
 * Tasks on the container instance that have not stopped yet. Neither `runningTasksCount` nor
 * ListTasks' default filter (desired RUNNING) will do: on DRAINING, ECS sets a task's desired
 * status to STOPPED at once, while the task keeps serving (DEACTIVATING) for the target group's
 * deregistration delay. So tasks of both desired statuses are listed and their lastStatus read.
 */
export async function unstoppedTasks(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<number> {
  const arns = [...(await listTaskArns(ecs, cluster, containerInstanceArn, 'RUNNING', retry)), ...(await listTaskArns(ecs, cluster, containerInstanceArn, 'STOPPED', retry))];
  let live = 0;
  // DescribeTasks takes at most 100 tasks per call. A task it cannot find (failures) is gone.
  for (let i = 0; i < arns.length; i += 100) {
    const described = await withThrottlingRetry(() => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) })), retry);
    live += (described.tasks ?? []).filter((task) => task.lastStatus !== 'STOPPED').length;
  }
  return live;
}
