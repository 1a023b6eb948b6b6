import { DescribeContainerInstancesCommand, ECSClient, ListContainerInstancesCommand, UpdateContainerInstancesStateCommand } from '@aws-sdk/client-ecs';
import { RetryPolicy, withThrottlingRetry } from './retry';

/** The container instance of an EC2 instance in a cluster, or undefined when it is not there. */
export async function findContainerInstance(ecs: ECSClient, cluster: string, instanceId: string, retry: RetryPolicy = {}): Promise<string | undefined> {
  const list = await withThrottlingRetry(() => ecs.send(new ListContainerInstancesCommand({ cluster, filter: `ec2InstanceId == ${instanceId}` })), retry);
  return list.containerInstanceArns?.[0];
}

/** Sets the container instance DRAINING (idempotent); ECS then moves its service tasks elsewhere. */
export async function setDraining(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<void> {
  const described = await withThrottlingRetry(() => ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstanceArn] })), retry);
  if (described.containerInstances?.[0]?.status === 'DRAINING') return;
  await withThrottlingRetry(() => ecs.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: [containerInstanceArn], status: 'DRAINING' })), retry);
}

/** Tasks still running on the container instance. */
export async function runningTasks(ecs: ECSClient, cluster: string, containerInstanceArn: string, retry: RetryPolicy = {}): Promise<number> {
  const described = await withThrottlingRetry(() => ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: [containerInstanceArn] })), retry);
  return described.containerInstances?.[0]?.runningTasksCount ?? 0;
}
