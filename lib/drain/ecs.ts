import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  DesiredStatus,
  ECSClient,
  ListContainerInstancesCommand,
  ListTasksCommand,
  Task,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { RetryPolicy, withRetry } from './retry';

/** The container instance of an EC2 instance in a cluster, or undefined when it is not there. */
export async function findContainerInstance(ecs: ECSClient, cluster: string, instanceId: string, retry: RetryPolicy = {}): Promise<string | undefined> {
  const list = await withRetry(() => ecs.send(new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId == ${instanceId}` })), retry);
  return list.containerInstanceArns?.[0];
}

/**
 * What setDraining found and did: `set` (it was ACTIVE, now DRAINING), `already` (it was DRAINING),
 * or `not-active` with the status it has (REGISTERING, DEREGISTERING, INACTIVE, …): ECS accepts
 * DRAINING only from ACTIVE, so there is nothing to wait for on ECS's side, but its targets are
 * still deregistered.
 */
export type DrainingChange = { readonly kind: 'set' } | { readonly kind: 'already' } | { readonly kind: 'not-active'; readonly status: string };

/** Sets the container instance DRAINING when it is ACTIVE (idempotent); ECS then moves its service tasks elsewhere. */
export async function setDraining(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<DrainingChange> {
  const described = await withRetry(() => ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstanceArn] })), retry);
  const status = described.containerInstances?.[0]?.status ?? 'MISSING';
  if (status === 'DRAINING') return { kind: 'already' };
  if (status !== 'ACTIVE') return { kind: 'not-active', status };
  await withRetry(() => ecs.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [containerInstanceArn], status: 'DRAINING' })), retry);
  return { kind: 'set' };
}

async function listTaskArns(ecs: ECSClient, cluster: string, containerInstance: string, desiredStatus: DesiredStatus, retry: RetryPolicy): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await withRetry(() => ecs.send(new ListTasksCommand({ cluster, containerInstance, desiredStatus, nextToken })), retry);
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** Tasks on the container instance that have not stopped yet, by who started them. */
export interface UnstoppedTasks {
  /** Tasks of ECS services (group `service:…`): ECS stops and moves them on DRAINING. */
  readonly service: number;
  /**
   * Standalone tasks (RunTask/StartTask, group `family:…` or custom): ECS leaves them running on a
   * DRAINING instance, so waiting for them would only spend the ECS wait. Reported, not waited for.
   */
  readonly standalone: number;
}

const isServiceTask = (task: Task) => (task.group ?? '').startsWith('service:');

/**
 * Tasks on the container instance that have not stopped yet. Neither `runningTasksCount` nor
 * ListTasks' default filter (desired RUNNING) will do: on DRAINING, ECS sets a task's desired
 * status to STOPPED at once, while the task keeps serving (DEACTIVATING) for the target group's
 * deregistration delay. So tasks of both desired statuses are listed and their lastStatus read.
 */
export async function unstoppedTasks(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<UnstoppedTasks> {
  const arns = [...(await listTaskArns(ecs, cluster, containerInstanceArn, 'RUNNING', retry)), ...(await listTaskArns(ecs, cluster, containerInstanceArn, 'STOPPED', retry))];
  let service = 0;
  let standalone = 0;
  // DescribeTasks takes at most 100 tasks per call. A task it cannot find (failures) is gone.
  for (let i = 0; i < arns.length; i += 100) {
    const described = await withRetry(() => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) })), retry);
    for (const task of described.tasks ?? []) {
      if (task.lastStatus === 'STOPPED') continue;
      if (isServiceTask(task)) service++;
      else standalone++;
    }
  }
  return { service, standalone };
}
