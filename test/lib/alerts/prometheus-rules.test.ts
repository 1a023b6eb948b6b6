/** The CloudWatch alarm → Prometheus rule mapping, on templates the stack synthesizes. */
import { alertRulesFromTemplate, AlertRule, formatRuleFile } from '../../../lib/alerts/prometheus-rules';
import { TemplateError } from '../../../lib/proxy/template';
import { synthStack } from '../../support/stack';
import { parse } from 'yaml';

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

function templateJson(partial: Parameters<typeof synthStack>[0] = {}): Template {
  return synthStack(partial).template.toJSON() as Template;
}

function rule(rules: AlertRule[], alert: string): AlertRule {
  const found = rules.find((r) => r.alert === alert);
  if (!found) throw new Error(`no rule ${alert} in ${rules.map((r) => r.alert).join(', ')}`);
  return found;
}

function alarmId(template: Template, name: string): string {
  const entry = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === name);
  if (!entry) throw new Error(`no alarm ${name}`);
  return entry[0];
}

describe('alert rules from the default template', () => {
  const template = templateJson();
  const { rules, notReproducible } = alertRulesFromTemplate(template);

  const services = ['web', 'web-canary', 'api', 'static'];

  test("each service's target 5xx rate is the 5xx share of the requests forwarded to its group, over one period, held for DatapointsToAlarm periods", () => {
    for (const service of services) {
      const r = rule(rules, `Albatross-${service}-Target5xxRate`);
      expect(r.expr).toBe(`100 * sum(rate(albatross_requests_total{target_group="${service}",code=~"5.."}[60s])) / sum(rate(albatross_requests_total{target_group="${service}"}[60s])) > 1`);
      expect(r.for).toBe('120s');
      expect(r.labels.cloudwatch_alarm).toBe(alarmId(template, `Albatross-${service}-Target5xxRate`));
    }
  });

  test("each service's p95 latency is the 0.95 quantile of its group's duration histogram, in seconds", () => {
    for (const service of services) {
      expect(rule(rules, `Albatross-${service}-TargetResponseTimeP95`).expr).toBe(
        `histogram_quantile(0.95, sum by (le) (rate(albatross_request_duration_seconds_bucket{target_group="${service}"}[60s]))) > 0.5`,
      );
    }
  });

  test('each target group gets an unhealthy-host rule under the name the proxy labels it with', () => {
    for (const group of services) {
      expect(rule(rules, `Albatross-${group}-UnhealthyHosts`).expr).toBe(`sum(albatross_target_health{target_group="${group}",state="unhealthy"}) > 0`);
    }
  });

  test('alarms without a proxy metric are listed with a reason, not approximated', () => {
    const names = notReproducible.map((u) => u.alarm);
    expect(names).toEqual(expect.arrayContaining(['Albatross-LoadBalancer5xxRate', 'Albatross-TargetConnectionErrors', 'Albatross-RejectedConnections']));
    for (const name of names) expect(rules.map((r) => r.alert)).not.toContain(name);
    for (const u of notReproducible) expect(u.reason.length).toBeGreaterThan(20);
    const alarms = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length;
    expect(rules.length + notReproducible.length).toBe(alarms);
  });

  test('the rule file is valid YAML with the rules, and names every alarm left out in its header', () => {
    const text = formatRuleFile({ rules, notReproducible }, 'cdk.out/Albatross.template.json');
    expect((parse(text) as { groups: { rules: AlertRule[] }[] }).groups[0].rules).toEqual(rules);
    for (const u of notReproducible) expect(text).toContain(`#   ${u.alarm}: `);
  });
});

test('thresholds, period and datapoints come from the config through the template', () => {
  const { rules } = alertRulesFromTemplate(templateJson({ alarms: { target5xxRatePercent: 3, p95LatencyMs: 250, periodSeconds: 120, evaluationPeriods: 4, datapointsToAlarm: 3 } }));
  const r = rule(rules, 'Albatross-api-Target5xxRate');
  expect(r.expr).toMatch(/\[120s\].*\[120s\].* > 3$/);
  expect(r.for).toBe('360s');
  expect(r.annotations.cloudwatch).toBe('3 of 4 periods of 120 s > 3');
  expect(rule(rules, 'Albatross-api-TargetResponseTimeP95').expr).toMatch(/> 0.25$/);
});

describe('a malformed alarm fails naming the resource and the field', () => {
  const cases: [string, (p: Record<string, unknown>) => void, RegExp][] = [
    ['a Threshold that is not a number', (p) => (p.Threshold = { Ref: 'Param' }), /alarm AlarmswebTarget5xxRate\w+ Threshold must be a number/],
    ['no ComparisonOperator', (p) => delete p.ComparisonOperator, /alarm AlarmswebTarget5xxRate\w+ ComparisonOperator must be a string/],
    ['DatapointsToAlarm above EvaluationPeriods', (p) => (p.DatapointsToAlarm = 9), /alarm AlarmswebTarget5xxRate\w+ DatapointsToAlarm must be from 1 to EvaluationPeriods \(3\)/],
    ['metrics with different periods', (p) => (((p.Metrics as { MetricStat?: { Period: number } }[])[1].MetricStat as { Period: number }).Period = 300), /alarm AlarmswebTarget5xxRate\w+ metrics must share one Period/],
  ];
  test.each(cases)('%s', (_, corrupt, message) => {
    const template = templateJson();
    corrupt(template.Resources[alarmId(template, 'Albatross-web-Target5xxRate')].Properties);
    expect(() => alertRulesFromTemplate(template, 'my.json')).toThrow(TemplateError);
    expect(() => alertRulesFromTemplate(template, 'my.json')).toThrow(new RegExp(`^my.json: ${message.source}`));
  });

  test('a template without Resources', () => {
    expect(() => alertRulesFromTemplate({ Outputs: {} }, 'my.json')).toThrow('my.json has no Resources section');
  });
});
