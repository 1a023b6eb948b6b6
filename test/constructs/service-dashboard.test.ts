/** ServiceDashboard without Albatross's configuration: the shared rows, then a row per service. */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { ServiceDashboard, ServiceDashboardProps } from '../../constructs/service-dashboard';
import { bareStack, loadBalancerIn, logicalIdOf, synthError, targetGroupsIn, vpcIn } from './support/fixture';

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  properties: { title: string; metrics?: unknown[][]; alarms?: string[] };
}

const SERVICES = ['web', 'api', 'static'];

function build(overrides: (groups: Record<string, elbv2.ApplicationTargetGroup>, stack: Stack) => Partial<ServiceDashboardProps> = () => ({})): { stack: Stack; groups: Record<string, elbv2.ApplicationTargetGroup> } {
  const stack = bareStack();
  const vpc = vpcIn(stack);
  const groups = targetGroupsIn(stack, vpc, SERVICES);
  const edge = loadBalancerIn(stack, { defaultAction: elbv2.ListenerAction.weightedForward(SERVICES.map((n) => ({ targetGroup: groups[n], weight: 1 }))) }, vpc);
  new ServiceDashboard(stack, 'Dashboard', { loadBalancer: edge.loadBalancer, targetGroups: groups, alarms: [], ...overrides(groups, stack) });
  return { stack, groups };
}

/** The dashboard body with every reference written as `<LogicalId>`, parsed. */
function widgetsOf(stack: Stack): Widget[] {
  const dashboard = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: { 'Fn::Join': [string, unknown[]] } } };
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1].map((part) => {
    if (typeof part === 'string') return part;
    const reference = /"Ref":"([^"]+)"|"Fn::GetAtt":\["([^"]+)"/.exec(JSON.stringify(part));
    if (!reference) throw new Error(`no reference in ${JSON.stringify(part)}`);
    return `<${reference[1] ?? reference[2]}>`;
  });
  return (JSON.parse(parts.join('')) as { widgets: Widget[] }).widgets;
}

const alarmsByService = (groups: Record<string, elbv2.ApplicationTargetGroup>, stack: Stack) =>
  Object.fromEntries(SERVICES.map((name) => [name, [new cloudwatch.Alarm(stack, `Alarm-${name}`, { metric: groups[name].metrics.unhealthyHostCount(), threshold: 0, evaluationPeriods: 1 })]]));

test('each service has a row of its own: requests and errors, latency, hosts and its alarms, all on its own group', () => {
  const { stack, groups } = build((g, s) => ({ serviceAlarms: alarmsByService(g, s) }));
  const widgets = widgetsOf(stack);
  for (const name of SERVICES) {
    const row = widgets.filter((w) => w.properties.title.startsWith(`${name}: `));
    expect(row.map((w) => w.properties.title)).toEqual([`${name}: requests and errors`, `${name}: target response time (s)`, `${name}: hosts`, `${name}: alarms`]);
    expect(new Set(row.map((w) => w.y)).size).toBe(1);
    expect(row.reduce((sum, w) => sum + w.width, 0)).toBe(24);
    const graphed = JSON.stringify(row.flatMap((w) => w.properties.metrics ?? []));
    expect(graphed).toContain(`<${logicalIdOf(stack, groups[name])}>`);
    for (const other of SERVICES.filter((n) => n !== name)) expect(graphed).not.toContain(`<${logicalIdOf(stack, groups[other])}>`);
    const alarm = stack.node.findChild(`Alarm-${name}`) as cloudwatch.Alarm;
    expect(row[3].properties.alarms).toEqual([`<${logicalIdOf(stack, alarm)}>`]);
  }
  const rows = SERVICES.map((name) => widgets.find((w) => w.properties.title === `${name}: hosts`)!.y);
  expect(new Set(rows).size).toBe(SERVICES.length);
});

test('the top rows show the shared alarms and the load balancer as a whole', () => {
  const { stack } = build();
  const widgets = widgetsOf(stack);
  expect(widgets[0]).toMatchObject({ type: 'alarm', width: 24, properties: { title: 'Alarms' } });
  expect(widgets.slice(1, 4).map((w) => w.properties.title)).toEqual(['Load balancer: requests', 'Load balancer: target response time (s)', 'Load balancer: errors by code']);
  // Without service alarms, a service row is three graphs that still fill the grid.
  const row = widgets.filter((w) => w.properties.title.startsWith('api: '));
  expect(row.map((w) => w.width)).toEqual([8, 8, 8]);
});

test('alarms for a service that is not in targetGroups fail synth at the dashboard', () => {
  const { stack } = build((g, s) => ({ serviceAlarms: { ...alarmsByService(g, s), apii: [] } }));
  expect(synthError(stack)).toContain('[Reuse/Dashboard] ServiceDashboard serviceAlarms names "apii", which is not a service of targetGroups (web, api, static)');
});
