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

/** One task on the container instance, as the drain sees it. */
export interface InstanceTask {
  readonly taskArn: string;
  /** The ECS service that started it (its group is `service:<name>`); undefined for a standalone task. */
  readonly service?: string;
  readonly stopped: boolean;
  /**
   * The host ports its containers are bound to (bridge and host network modes): the ports of the
   * instance's target registrations that this task serves. ECS may list none for a stopped task.
   */
  readonly hostPorts: readonly number[];
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

const SERVICE_GROUP_PREFIX = 'service:';

function toInstanceTask(task: Task): InstanceTask {
  const group = task.group ?? '';
  const hostPorts = (task.containers ?? []).flatMap((c) => (c.networkBindings ?? []).map((b) => b.hostPort).filter((p): p is number => p !== undefined));
  return {
    taskArn: task.taskArn ?? '',
    ...(group.startsWith(SERVICE_GROUP_PREFIX) ? { service: group.slice(SERVICE_GROUP_PREFIX.length) } : {}),
    stopped: task.lastStatus === 'STOPPED',
    hostPorts: [...new Set(hostPorts)],
  };
}

/**
 * Every task on the container instance that ECS still lists. Neither `runningTasksCount` nor
 * ListTasks' default filter (desired RUNNING) will do: on DRAINING, ECS sets a task's desired
 * status to STOPPED at once, while the task keeps serving (DEACTIVATING) for the target group's
 * deregistration delay. So tasks of both desired statuses are listed and their lastStatus read.
 */
export async function instanceTasks(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<InstanceTask[]> {
  const arns = [...(await listTaskArns(ecs, cluster, containerInstanceArn, 'RUNNING', retry)), ...(await listTaskArns(ecs, cluster, containerInstanceArn, 'STOPPED', retry))];
  const tasks: InstanceTask[] = [];
  // DescribeTasks takes at most 100 tasks per call. A task it cannot find (failures) is gone.
  for (let i = 0; i < arns.length; i += 100) {
    const described = await withRetry(() => ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) })), retry);
    tasks.push(...(described.tasks ?? []).map(toInstanceTask));
  }
  return tasks;
}

/** How many of the tasks have not stopped, service and standalone apart. */
export function countUnstopped(tasks: readonly InstanceTask[]): UnstoppedTasks {
  const live = tasks.filter((t) => !t.stopped);
  const service = live.filter((t) => t.service !== undefined).length;
  return { service, standalone: live.length - service };
}

/**
 * Which tasks served each host port of the instance, remembered across looks: a task stopped
 * after it was seen bound to a port still counts for that port when ECS no longer lists its
 * bindings, and a task missing from one answer keeps the state it was last seen in (never
 * assumed stopped).
 */
export class HostPortTasks {
  private readonly latest = new Map<string, InstanceTask>();
  private readonly arnsByPort = new Map<number, Set<string>>();

  record(tasks: readonly InstanceTask[]): void {
    for (const task of tasks) {
      this.latest.set(task.taskArn, task);
      for (const port of task.hostPorts) this.arnsByPort.set(port, (this.arnsByPort.get(port) ?? new Set()).add(task.taskArn));
    }
  }

  /**
   * The tasks seen serving `port`: whether every one of them has stopped, and their services.
   * Undefined when no task was seen bound to it (a registration ECS does not serve: no evidence).
   */
  servedBy(port: number): { readonly stopped: boolean; readonly services: readonly string[] } | undefined {
    const arns = this.arnsByPort.get(port);
    if (arns === undefined) return undefined;
    const tasks = [...arns].map((arn) => this.latest.get(arn)!);
    return { stopped: tasks.every((t) => t.stopped), services: [...new Set(tasks.flatMap((t) => (t.service !== undefined ? [t.service] : [])))] };
  }
}
