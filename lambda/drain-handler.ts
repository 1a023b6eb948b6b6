/**
 * Drain orchestrator: SQS (fed by EventBridge terminate lifecycle events, and by its own
 * continuations) → drain engine → CompleteLifecycleAction. Thin: the logic is lib/drain/lifecycle.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { REQUEUE_DELAY_SECONDS } from '../lib/drain/budget';
import { drainClientConfig } from '../lib/drain/clients';
import { handleLifecycleMessage } from '../lib/drain/lifecycle';

const logger = new Logger();
const metrics = new Metrics();
const config = drainClientConfig();
const clients = {
  elbv2: new ElasticLoadBalancingV2Client(config),
  autoScaling: new AutoScalingClient(config),
  ecs: new ECSClient(config),
  sqs: new SQSClient(config),
};

/** Seconds from an environment variable, in ms; undefined when unset or not a positive number. */
function envMs(name: string): number | undefined {
  const seconds = Number(process.env[name]);
  return seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * The message could not be handed on: have SQS deliver it again in a few seconds rather than after
 * the visibility timeout (6× the Lambda timeout, longer than the hook's heartbeat). Best effort:
 * if SQS cannot be reached for this either, the visibility timeout and the DLQ remain.
 */
async function redeliverSoon(record: SQSRecord): Promise<void> {
  try {
    await clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: process.env.QUEUE_URL ?? '', ReceiptHandle: record.receiptHandle, VisibilityTimeout: REQUEUE_DELAY_SECONDS }));
  } catch (error) {
    logger.warn('could not shorten the visibility timeout of a failed message', { error: (error as Error).message });
  }
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await handleLifecycleMessage(record.body, {
        clients,
        queueUrl: process.env.QUEUE_URL ?? '',
        cluster: process.env.CLUSTER_NAME || undefined,
        targetGroupArns: process.env.TARGET_GROUP_ARNS ? process.env.TARGET_GROUP_ARNS.split(',') : undefined,
        remainingMs: context.getRemainingTimeInMillis(),
        functionTimeoutMs: envMs('FUNCTION_TIMEOUT_SECONDS'),
        heartbeatTimeoutMs: envMs('HEARTBEAT_TIMEOUT_SECONDS'),
        drainTimeoutMs: envMs('DRAIN_TIMEOUT_SECONDS'),
        log: (level, message, detail) => logger[level](message, detail ?? {}),
        count: (metric, value = 1) => metrics.addMetric(metric, MetricUnit.Count, value),
      });
    } catch (error) {
      logger.error('could not reach AWS to hand the lifecycle action on; SQS will redeliver', error as Error);
      metrics.addMetric('DrainErrors', MetricUnit.Count, 1);
      await redeliverSoon(record);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  metrics.publishStoredMetrics();
  return { batchItemFailures };
}
