/**
 * Prometheus alerting rules for the template's CloudWatch alarms, on the local proxy's /metrics
 * (lib/proxy/metrics.ts). An alarm whose metric the proxy does not produce is returned as not
 * reproducible, with the reason, never approximated from another metric. docs/alerts.md explains
 * each mapping and where it differs from CloudWatch.
 */
import { stringify } from 'yaml';
import { loadModelFromTemplate } from '../proxy/template';
import { AlarmMetric, CloudWatchAlarm, readAlarms } from './cloudwatch-alarm';

const ELB = 'AWS/ApplicationELB';
const REQUESTS = 'albatross_requests_total';
const DURATION = 'albatross_request_duration_seconds_bucket';
const HEALTH = 'albatross_target_health';
/** Requests the proxy forwarded to a target group; `-` labels redirects, fixed responses and LB errors. */
const FORWARDED = 'target_group!="-"';

/** One Prometheus alerting rule. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold: DatapointsToAlarm × Period. */
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** An alarm the proxy's metrics cannot reproduce. */
export interface UnreproducibleAlarm {
  readonly alarm: string;
  readonly reason: string;
}

export interface AlertRulesResult {
  readonly rules: AlertRule[];
  readonly notReproducible: UnreproducibleAlarm[];
}

type Translation = { expr: string } | { reason: string };

function hasMetrics(alarm: CloudWatchAlarm, ...names: string[]): boolean {
  return alarm.metrics.every((m) => m.namespace === ELB) && names.every((n) => alarm.metrics.some((m) => m.metricName === n)) && alarm.metrics.every((m) => names.includes(m.metricName));
}

/**
 * The proxy's label selector for the one target group all of `metrics` are on (a service's own
 * alarm), or undefined when they are not all on one group (an alarm over the load balancer).
 */
function oneGroupSelector(metrics: AlarmMetric[], groupNames: Record<string, string>): string | { reason: string } | undefined {
  const ids = new Set(metrics.map((m) => m.dimensions.TargetGroup));
  const [id] = ids;
  if (ids.size !== 1 || id === undefined) return undefined;
  const group = groupNames[id];
  return group === undefined ? { reason: `dimension TargetGroup ${JSON.stringify(id)} is not a target group of the load balancer` } : `target_group=${JSON.stringify(group)}`;
}

/**
 * `100 * errors / requests`: of one target group when all the metrics are on it (a service's own
 * rate), else over every target group's RequestCount: the proxy's 5xx share of forwarded requests.
 */
function target5xxRate(alarm: CloudWatchAlarm, window: string, groupNames: Record<string, string>): Translation {
  const requests = alarm.metrics.filter((m) => m.metricName === 'RequestCount');
  if (!alarm.expression?.includes('100 *') || requests.some((m) => m.dimensions.TargetGroup === undefined)) {
    return { reason: `metric-math expression ${JSON.stringify(alarm.expression)} is not the target 5xx percentage of the target groups' requests` };
  }
  const group = oneGroupSelector(alarm.metrics, groupNames);
  if (typeof group === 'object') return group;
  const forwarded = group ?? FORWARDED;
  const rate = (selector: string) => `sum(rate(${REQUESTS}{${selector}}[${window}]))`;
  return { expr: `100 * ${rate(`${forwarded},code=~"5.."`)} / ${rate(forwarded)}` };
}

/** `TargetResponseTime` pNN: the quantile of the proxy's request-duration histogram, of the alarm's target group if it has one. */
function latencyQuantile(metric: AlarmMetric, window: string, groupNames: Record<string, string>): Translation {
  const match = /^p(\d+(?:\.\d+)?)$/.exec(metric.statistic);
  if (!match) return { reason: `TargetResponseTime statistic ${metric.statistic} is not a percentile` };
  const group = oneGroupSelector([metric], groupNames);
  if (typeof group === 'object') return group;
  return { expr: `histogram_quantile(${Number(match[1]) / 100}, sum by (le) (rate(${DURATION}${group ? `{${group}}` : ''}[${window}])))` };
}

/** `UnHealthyHostCount` of one target group: the proxy's targets in state unhealthy. */
function unhealthyHosts(metric: AlarmMetric, groupNames: Record<string, string>): Translation {
  const id = metric.dimensions.TargetGroup;
  const group = id === undefined ? undefined : groupNames[id];
  if (group === undefined) return { reason: `UnHealthyHostCount dimension TargetGroup ${JSON.stringify(id)} is not a target group of the load balancer` };
  return { expr: `sum(${HEALTH}{target_group=${JSON.stringify(group)},state="unhealthy"})` };
}

const NO_METRIC: Record<string, string> = {
  HTTPCode_ELB_5XX_Count: 'the proxy counts its own 502/503/504 for a forwarded request under the target group, like a target 5xx, so albatross_requests_total cannot tell load-balancer 5xx from target 5xx',
  TargetConnectionErrorCount: 'the proxy has no metric of failed connections to targets',
  RejectedConnectionCount: 'the proxy has no metric of rejected client connections',
};

function translate(alarm: CloudWatchAlarm, groupNames: Record<string, string>): Translation {
  const window = `${alarm.periodSeconds}s`;
  const missing = alarm.metrics.find((m) => m.namespace === ELB && NO_METRIC[m.metricName] !== undefined);
  if (missing) return { reason: NO_METRIC[missing.metricName] };
  if (hasMetrics(alarm, 'HTTPCode_Target_5XX_Count', 'RequestCount')) return target5xxRate(alarm, window, groupNames);
  if (alarm.expression === undefined && hasMetrics(alarm, 'TargetResponseTime')) return latencyQuantile(alarm.metrics[0], window, groupNames);
  if (alarm.expression === undefined && hasMetrics(alarm, 'UnHealthyHostCount')) return unhealthyHosts(alarm.metrics[0], groupNames);
  const metric = alarm.metrics.map((m) => `${m.namespace} ${m.metricName}`).join(', ');
  return { reason: `the proxy has no metric for ${metric}` };
}

function toRule(alarm: CloudWatchAlarm, expr: string): AlertRule {
  return {
    alert: alarm.name,
    expr: `${expr} ${alarm.comparison} ${alarm.threshold}`,
    for: `${alarm.datapointsToAlarm * alarm.periodSeconds}s`,
    labels: { severity: 'page', cloudwatch_alarm: alarm.logicalId },
    annotations: {
      summary: alarm.description || alarm.name,
      cloudwatch: `${alarm.datapointsToAlarm} of ${alarm.evaluationPeriods} periods of ${alarm.periodSeconds} s ${alarm.comparison} ${alarm.threshold}`,
    },
  };
}

/** The rules for every alarm of `template` the proxy can reproduce, and the alarms it cannot. */
export function alertRulesFromTemplate(template: unknown, source = 'template'): AlertRulesResult {
  const alarms = readAlarms(template, source);
  const model = loadModelFromTemplate(template, { source, onWarning: () => undefined });
  const groupNames = Object.fromEntries(Object.entries(model.targetGroups).map(([id, group]) => [id, group.name]));
  const rules: AlertRule[] = [];
  const notReproducible: UnreproducibleAlarm[] = [];
  for (const alarm of alarms) {
    const t = translate(alarm, groupNames);
    if ('expr' in t) rules.push(toRule(alarm, t.expr));
    else notReproducible.push({ alarm: alarm.name, reason: t.reason });
  }
  return { rules, notReproducible };
}

/** A Prometheus rule file; the alarms left out are listed in its header so nobody assumes them covered. */
export function formatRuleFile(result: AlertRulesResult, source: string): string {
  const header = [
    `# Generated by \`npm run alert-rules\` from ${source}: the CloudWatch alarms, on the local proxy's /metrics.`,
    '# Do not edit; regenerate after `npx cdk synth`.',
    ...(result.notReproducible.length ? ['# Not reproducible locally:', ...result.notReproducible.map((u) => `#   ${u.alarm}: ${u.reason}`)] : []),
  ];
  return `${header.join('\n')}\n${stringify({ groups: [{ name: 'albatross', rules: result.rules }] }, { lineWidth: 0 })}`;
}
