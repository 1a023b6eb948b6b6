/**
 * The CloudWatch alarms of a synthesized template, read into plain values. Only the fields the
 * Prometheus translation needs are read; a field it needs that is missing or not literal fails
 * naming the alarm's logical id.
 */
import { TemplateError } from '../proxy/template';

/** One metric of an alarm: namespace, name, statistic, and its dimensions as written in the template. */
export interface AlarmMetric {
  /** The metric-math id (`errors`, `requests0`), or `m` for a single-metric alarm. */
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  /** `Sum`, `Maximum`, `p95`, … */
  readonly statistic: string;
  /** Dimension name → the logical id it refers to (`Fn::GetAtt`/`Ref`), or its literal value. */
  readonly dimensions: Record<string, string>;
}

export type Comparison = '>' | '>=' | '<' | '<=';

/** An `AWS::CloudWatch::Alarm`, its metric(s) and its evaluation. */
export interface CloudWatchAlarm {
  readonly logicalId: string;
  /** `AlarmName`, or the logical id when CloudFormation would generate the name. */
  readonly name: string;
  readonly description: string;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  /** M of "M out of N"; equals evaluationPeriods when the template leaves it out. */
  readonly datapointsToAlarm: number;
  readonly metrics: AlarmMetric[];
  /** The metric-math expression that returns data; absent for a single-metric alarm. */
  readonly expression?: string;
}

type Json = Record<string, unknown>;

const COMPARISONS: Record<string, Comparison> = {
  GreaterThanThreshold: '>',
  GreaterThanOrEqualToThreshold: '>=',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class AlarmReader {
  constructor(private readonly source: string, private readonly logicalId: string) {}

  fail(message: string): never {
    throw new TemplateError(`${this.source}: alarm ${this.logicalId} ${message}`);
  }

  number(p: Json, field: string, fallback?: number): number {
    const value = p[field];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(`${field} must be a number (got ${JSON.stringify(value)})`);
    return value;
  }

  string(p: Json, field: string): string {
    const value = p[field];
    return typeof value === 'string' ? value : this.fail(`${field} must be a string (got ${JSON.stringify(value)})`);
  }

  /** `{Ref: X}` and `{Fn::GetAtt: [X, attr]}` name resource X; a literal names itself. */
  dimensions(value: unknown): Record<string, string> {
    if (value === undefined) return {};
    if (!Array.isArray(value)) return this.fail(`Dimensions must be a list (got ${JSON.stringify(value)})`);
    const out: Record<string, string> = {};
    for (const d of value as unknown[]) {
      if (!isObject(d) || typeof d.Name !== 'string') return this.fail('has a dimension without a Name');
      out[d.Name] = referencedId(d.Value) ?? JSON.stringify(d.Value);
    }
    return out;
  }

  metric(id: string, p: Json, statistic: string): AlarmMetric {
    return { id, namespace: this.string(p, 'Namespace'), metricName: this.string(p, 'MetricName'), statistic, dimensions: this.dimensions(p.Dimensions) };
  }
}

/** The logical id a value refers to, looking through `Fn::Join` for the first reference in it. */
function referencedId(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

function readMetrics(r: AlarmReader, p: Json): { metrics: AlarmMetric[]; expression?: string } {
  if (p.Metrics === undefined) {
    const statistic = typeof p.ExtendedStatistic === 'string' ? p.ExtendedStatistic : r.string(p, 'Statistic');
    return { metrics: [r.metric('m', p, statistic)] };
  }
  if (!Array.isArray(p.Metrics)) return r.fail('Metrics must be a list');
  const metrics: AlarmMetric[] = [];
  let expression: string | undefined;
  for (const entry of p.Metrics as unknown[]) {
    if (!isObject(entry) || typeof entry.Id !== 'string') return r.fail('has a Metrics entry without an Id');
    if (typeof entry.Expression === 'string') {
      if (entry.ReturnData !== false) expression = entry.Expression;
      continue;
    }
    const stat = isObject(entry.MetricStat) ? entry.MetricStat : r.fail(`Metrics entry ${entry.Id} has neither Expression nor MetricStat`);
    const metric = isObject(stat.Metric) ? stat.Metric : r.fail(`Metrics entry ${entry.Id} has no MetricStat.Metric`);
    metrics.push(r.metric(entry.Id, metric, r.string(stat, 'Stat')));
  }
  return { metrics, expression };
}

/** The period of a metric-math alarm is that of its metrics; they all share it in this stack. */
function readPeriod(r: AlarmReader, p: Json): number {
  if (p.Metrics === undefined) return r.number(p, 'Period');
  const periods = new Set((p.Metrics as Json[]).flatMap((m) => (isObject(m.MetricStat) ? [m.MetricStat.Period] : [])));
  if (periods.size !== 1) return r.fail(`metrics must share one Period (got ${JSON.stringify([...periods])})`);
  const [period] = periods;
  return typeof period === 'number' && period > 0 ? period : r.fail(`MetricStat.Period must be a number (got ${JSON.stringify(period)})`);
}

function readAlarm(source: string, logicalId: string, p: unknown): CloudWatchAlarm {
  const r = new AlarmReader(source, logicalId);
  if (!isObject(p)) return r.fail('has no Properties');
  const operator = r.string(p, 'ComparisonOperator');
  const comparison = COMPARISONS[operator] ?? r.fail(`ComparisonOperator ${operator} has no Prometheus equivalent (allowed: ${Object.keys(COMPARISONS).join(', ')})`);
  const evaluationPeriods = r.number(p, 'EvaluationPeriods');
  const datapointsToAlarm = r.number(p, 'DatapointsToAlarm', evaluationPeriods);
  if (!(datapointsToAlarm >= 1 && datapointsToAlarm <= evaluationPeriods)) r.fail(`DatapointsToAlarm must be from 1 to EvaluationPeriods (${evaluationPeriods}) (got ${datapointsToAlarm})`);
  return {
    logicalId,
    name: typeof p.AlarmName === 'string' ? p.AlarmName : logicalId,
    description: typeof p.AlarmDescription === 'string' ? p.AlarmDescription : '',
    threshold: r.number(p, 'Threshold'),
    comparison,
    periodSeconds: readPeriod(r, p),
    evaluationPeriods,
    datapointsToAlarm,
    ...readMetrics(r, p),
  };
}

/** Every `AWS::CloudWatch::Alarm` of a template, in template order. */
export function readAlarms(template: unknown, source = 'template'): CloudWatchAlarm[] {
  if (!isObject(template) || !isObject(template.Resources)) throw new TemplateError(`${source} has no Resources section`);
  return Object.entries(template.Resources).flatMap(([id, resource]) =>
    isObject(resource) && resource.Type === 'AWS::CloudWatch::Alarm' ? [readAlarm(source, id, resource.Properties)] : [],
  );
}
