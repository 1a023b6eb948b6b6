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
  /**
   * Each service's own target group, by service name. Each service
   * gets its own 5xx-rate, p95-latency and unhealthy-host alarms, on its group's metrics.
   */
  readonly targetGroups: Record<string, elbv2.ApplicationTargetGroup>;
  /** Where alarm and OK notifications go. */
  readonly topic: sns.ITopic;
  /**
   * A service's target 5xx responses, as a percentage of the requests its target group received,
   * above which its alarm fires.
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
   * p95 target response time of a service above which its alarm fires.
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

// CloudWatch evaluates at most 10 metrics in one alarm. Each alarm here reads at most two (the
// errors and requests of one target group, or of the load balancer), so the alarms do not bound
// the number of services (lib/stacks/limits.ts does).

/** The settings every alarm shares, defaults applied. */
interface Evaluation {
  readonly period: Duration;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/** Problems with the props, each naming the prop; raised at synth, scoped to the construct. */
function problems(props: ServiceAlarmsProps, evaluation: Evaluation): string[] {
  const found: string[] = [];
  if (Object.keys(props.targetGroups).length === 0) found.push('ServiceAlarms targetGroups must hold at least one service');
  const { evaluationPeriods, datapointsToAlarm } = evaluation;
  if (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
    found.push(`ServiceAlarms datapointsToAlarm must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}) (got ${datapointsToAlarm})`);
  }
  return found;
}

/**
 * A service's target 5xx responses as a percentage of the requests its target group received.
 * The load balancer's own RequestCount would also count HTTP→HTTPS redirects, fixed responses,
 * requests WAF blocked and other services' requests, and so understate the rate.
 */
function target5xxRate(group: elbv2.ApplicationTargetGroup, period: Duration): cloudwatch.MathExpression {
  // FILL(…, 0): a period without traffic has no data point, which would blank the expression.
  return new cloudwatch.MathExpression({
    expression: 'IF(FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)',
    usingMetrics: {
      errors: group.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, statistic: 'Sum' }),
      requests: group.metrics.requestCount({ period, statistic: 'Sum' }),
    },
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

/** The alarms a deploy of one service rolls back on, with their fixed names for ECS. */
export interface DeploymentAlarms {
  readonly alarms: cloudwatch.Alarm[];
  readonly alarmNames: string[];
}

/**
 * The alarms an on-call engineer needs for load-balanced services. Per service, on its own target
 * group: target 5xx rate, p95 target response time, unhealthy hosts. For the load balancer: the
 * 5xx rate it generates itself, target connection errors and rejected connections. Missing data
 * is not breaching: a quiet service is not an incident.
 */
export class ServiceAlarms extends Construct {
  /** Every alarm created, for dashboards and composite alarms. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The load balancer's own alarms (its 5xx rate, target connection errors, rejected connections). */
  readonly loadBalancerAlarms: cloudwatch.Alarm[] = [];
  /** Each service's alarms, by service name: 5xx rate, p95 latency, unhealthy hosts. */
  readonly serviceAlarms: Record<string, cloudwatch.Alarm[]> = {};
  private readonly evaluation: Evaluation;
  private readonly deploymentAlarmsByService: Record<string, cloudwatch.Alarm[]> = {};

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    this.evaluation = { period: props.period ?? Duration.minutes(1), evaluationPeriods: props.evaluationPeriods ?? 3, datapointsToAlarm: props.datapointsToAlarm ?? 2 };
    this.node.addValidation({ validate: () => problems(props, this.evaluation) });
    const elb5xx = this.addLoadBalancerAlarms(props);
    for (const [name, group] of Object.entries(props.targetGroups)) {
      const alarms = this.addServiceAlarms(name, group, props);
      this.serviceAlarms[name] = [alarms.target5xx, alarms.latency, alarms.unhealthy];
      // A deploy that breaks connections shows as load-balancer 502s only, never as target 5xx,
      // so the load balancer's rate counts too. ECS watches the alarms only while this service
      // deploys: an alarm raised by another service's traffic rolls back only a deploy under way.
      this.deploymentAlarmsByService[name] = [alarms.target5xx, alarms.latency, elb5xx];
    }
  }

  /**
   * The alarms a deploy of `service` rolls back on (ECS deployment alarms): its own 5xx rate and
   * p95 latency, and the load balancer's 5xx rate. Unhealthy hosts and connection errors are left
   * to the circuit breaker, which already stops a deploy whose tasks do not become healthy.
   */
  deploymentAlarms(service: string): DeploymentAlarms {
    const alarms = this.deploymentAlarmsByService[service];
    if (!alarms) throw new Error(`ServiceAlarms has no service ${JSON.stringify(service)} (services: ${Object.keys(this.deploymentAlarmsByService).join(', ')})`);
    return { alarms, alarmNames: alarms.map((alarm) => this.alarmName(alarm.node.id)) };
  }

  /** Returns the load balancer's 5xx-rate alarm, which deploys roll back on. */
  private addLoadBalancerAlarms(props: ServiceAlarmsProps): cloudwatch.Alarm {
    const { period } = this.evaluation;
    const lbMetrics = props.loadBalancer.metrics;
    const elb5xxPercent = props.elb5xxRatePercent ?? 1;
    const elb5xx = this.add(
      'LoadBalancer5xxRate',
      elb5xxRate(props, period),
      elb5xxPercent,
      `Load balancer 5xx responses (502, 503, 504, …) above ${elb5xxPercent}% of all requests`,
      props.topic,
    );
    const connectionErrors = this.add(
      'TargetConnectionErrors',
      lbMetrics.targetConnectionErrorCount({ period, statistic: 'Sum' }),
      0,
      'The load balancer could not connect to targets (task stopped, port closed, security group)',
      props.topic,
    );
    const rejected = this.add('RejectedConnections', lbMetrics.rejectedConnectionCount({ period, statistic: 'Sum' }), 0, 'The load balancer rejected connections (max connections reached)', props.topic);
    this.loadBalancerAlarms.push(elb5xx, connectionErrors, rejected);
    return elb5xx;
  }

  private addServiceAlarms(name: string, group: elbv2.ApplicationTargetGroup, props: ServiceAlarmsProps): Record<'target5xx' | 'latency' | 'unhealthy', cloudwatch.Alarm> {
    const { period } = this.evaluation;
    const target5xxPercent = props.target5xxRatePercent ?? 1;
    const p95Ms = (props.p95Latency ?? Duration.millis(500)).toMilliseconds();
    return {
      target5xx: this.add(
        `${name}-Target5xxRate`,
        target5xxRate(group, period),
        target5xxPercent,
        `Service ${name}: target 5xx responses above ${target5xxPercent}% of the requests routed to it`,
        props.topic,
      ),
      latency: this.add(
        `${name}-TargetResponseTimeP95`,
        group.metrics.targetResponseTime({ period, statistic: 'p95' }),
        p95Ms / 1000,
        `Service ${name}: p95 target response time above ${p95Ms} ms`,
        props.topic,
      ),
      unhealthy: this.add(
        `${name}-UnhealthyHosts`,
        group.metrics.unhealthyHostCount({ period, statistic: 'Maximum' }),
        0,
        `Service ${name}: its target group has an unhealthy host`,
        props.topic,
      ),
    };
  }

  /** Fixed, readable names (`Albatross-web-Target5xxRate`): on-call sees them, deployment alarms name them. */
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
