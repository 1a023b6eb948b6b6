import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** Properties of {@link ServiceAlarms}. */
export interface ServiceAlarmsProps {
  /** The load balancer to watch. */
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Target groups by short name; each gets an unhealthy-host alarm. */
  readonly targetGroups: Record<string, elbv2.ApplicationTargetGroup>;
  /** Where alarm and OK notifications go. */
  readonly topic: sns.ITopic;
  /**
   * Target 5xx responses, as a percentage of the requests the target groups received, above which
   * the alarm fires.
   * @default 1
   */
  readonly target5xxRatePercent?: number;
  /**
   * 5xx responses the load balancer generated itself, as a percentage of all requests, above
   * which the alarm fires.
   * @default 1
   */
  readonly elb5xxRatePercent?: number;
  /**
   * p95 target response time above which the alarm fires.
   * @default Duration.millis(500)
   */
  readonly p95Latency?: Duration;
  /**
   * Period every alarm evaluates.
   * @default Duration.minutes(1)
   */
  readonly period?: Duration;
  /**
   * Periods an alarm looks back over.
   * @default 3
   */
  readonly evaluationPeriods?: number;
  /**
   * Breaching periods among `evaluationPeriods` that raise an alarm.
   * @default 2
   */
  readonly datapointsToAlarm?: number;
}

/** CloudWatch alarms combine at most 10 metrics; the target 5xx-rate alarm uses one per group plus one. */
export const MAX_TARGET_GROUPS = 9;

/** The settings every alarm shares, defaults applied. */
interface Evaluation {
  readonly period: Duration;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/** Problems with the props, each naming the prop; raised at synth, scoped to the construct. */
function problems(props: ServiceAlarmsProps, evaluation: Evaluation): string[] {
  const found: string[] = [];
  const groupCount = Object.keys(props.targetGroups).length;
  if (groupCount < 1 || groupCount > MAX_TARGET_GROUPS) {
    found.push(`ServiceAlarms targetGroups must hold 1 to ${MAX_TARGET_GROUPS} target groups (got ${groupCount}): CloudWatch alarms combine at most 10 metrics`);
  }
  const { evaluationPeriods, datapointsToAlarm } = evaluation;
  if (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
    found.push(`ServiceAlarms datapointsToAlarm must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}) (got ${datapointsToAlarm})`);
  }
  return found;
}

/**
 * Target 5xx responses as a percentage of the requests the target groups received. The load
 * balancer's own RequestCount would also count HTTP→HTTPS redirects, fixed responses and requests
 * WAF blocked, none of which a target answered, and so understate the rate.
 */
function target5xxRate(props: ServiceAlarmsProps, period: Duration): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {
    errors: props.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum' }),
  };
  Object.values(props.targetGroups).forEach((group, i) => {
    usingMetrics[`requests${i}`] = group.metrics.requestCount({ period, statistic: 'Sum' });
  });
  // FILL(…, 0): a group with no traffic in a period has no data point, which would blank the sum.
  const requests = Object.keys(usingMetrics)
    .filter((name) => name !== 'errors')
    .map((name) => `FILL(${name}, 0)`)
    .join(' + ');
  return new cloudwatch.MathExpression({
    expression: `IF((${requests}) > 0, 100 * FILL(errors, 0) / (${requests}), 0)`,
    usingMetrics,
    period,
    label: 'Target 5xx rate (%)',
  });
}

/**
 * 5xx responses the load balancer generated itself as a percentage of all requests. RequestCount
 * leaves out requests for which no target was chosen (some 503s and 500s), so the errors are added
 * to it: the denominator is never zero while there are errors, and the rate never exceeds 100 %.
 * The 502s and 504s a target caused are then counted twice, which reads a true rate p as
 * p / (1 + p): 0.99 % for 1 %, close where the threshold matters.
 */
function elb5xxRate(props: ServiceAlarmsProps, period: Duration): cloudwatch.MathExpression {
  const metrics = props.loadBalancer.metrics;
  return new cloudwatch.MathExpression({
    expression: 'IF((FILL(requests, 0) + FILL(errors, 0)) > 0, 100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)',
    usingMetrics: {
      errors: metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period, statistic: 'Sum' }),
      requests: metrics.requestCount({ period, statistic: 'Sum' }),
    },
    period,
    label: 'Load balancer 5xx rate (%)',
  });
}

/**
 * The alarms an on-call engineer needs for a load-balanced service: target and load-balancer 5xx
 * rates, unhealthy hosts per target group, p95 target response time, target connection errors and
 * rejected connections. Missing data is not breaching: a quiet service is not an incident.
 */
export class ServiceAlarms extends Construct {
  /** Every alarm created, for dashboards and composite alarms. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /**
   * The alarms a bad deploy raises (5xx rates, p95 latency), for ECS deployment alarms. Unhealthy
   * hosts and connection errors are left to the circuit breaker, which already stops a deploy
   * whose tasks do not become healthy.
   */
  readonly deploymentAlarms: cloudwatch.Alarm[] = [];
  /** Names of {@link deploymentAlarms}, fixed at synth (`<stack>-<id>`). */
  readonly deploymentAlarmNames: string[] = [];
  private readonly evaluation: Evaluation;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    this.evaluation = { period: props.period ?? Duration.minutes(1), evaluationPeriods: props.evaluationPeriods ?? 3, datapointsToAlarm: props.datapointsToAlarm ?? 2 };
    this.node.addValidation({ validate: () => problems(props, this.evaluation) });
    const period = this.evaluation.period;
    const lbMetrics = props.loadBalancer.metrics;
    const target5xxPercent = props.target5xxRatePercent ?? 1;
    const elb5xxPercent = props.elb5xxRatePercent ?? 1;
    const p95Ms = (props.p95Latency ?? Duration.millis(500)).toMilliseconds();
    const target5xx = this.add(
      'Target5xxRate',
      target5xxRate(props, period),
      target5xxPercent,
      `Target 5xx responses above ${target5xxPercent}% of the requests routed to targets`,
      props.topic,
    );
    const elb5xx = this.add(
      'LoadBalancer5xxRate',
      elb5xxRate(props, period),
      elb5xxPercent,
      `Load balancer 5xx responses (502, 503, 504, …) above ${elb5xxPercent}% of all requests`,
      props.topic,
    );
    const latency = this.add(
      'TargetResponseTimeP95',
      lbMetrics.targetResponseTime({ period, statistic: 'p95' }),
      p95Ms / 1000,
      `p95 target response time above ${p95Ms} ms`,
      props.topic,
    );
    this.deploymentAlarms.push(target5xx, elb5xx, latency);
    this.deploymentAlarmNames.push(...this.deploymentAlarms.map((alarm) => this.alarmName(alarm.node.id)));
    this.add(
      'TargetConnectionErrors',
      lbMetrics.targetConnectionErrorCount({ period, statistic: 'Sum' }),
      0,
      'The load balancer could not connect to targets (task stopped, port closed, security group)',
      props.topic,
    );
    this.add('RejectedConnections', lbMetrics.rejectedConnectionCount({ period, statistic: 'Sum' }), 0, 'The load balancer rejected connections (max connections reached)', props.topic);
    for (const [name, group] of Object.entries(props.targetGroups)) {
      this.add(
        `UnhealthyHosts-${name}`,
        group.metrics.unhealthyHostCount({ period, statistic: 'Maximum' }),
        0,
        `Target group ${name} has an unhealthy host`,
        props.topic,
      );
    }
  }

  /** Fixed, readable names (`Albatross-Target5xxRate`): on-call sees them, deployment alarms name them. */
  private alarmName(id: string): string {
    return `${Stack.of(this).stackName}-${id}`;
  }

  private add(id: string, metric: cloudwatch.IMetric, threshold: number, description: string, topic: sns.ITopic): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: this.alarmName(id),
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: this.evaluation.evaluationPeriods,
      datapointsToAlarm: this.evaluation.datapointsToAlarm,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new actions.SnsAction(topic));
    alarm.addOkAction(new actions.SnsAction(topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
