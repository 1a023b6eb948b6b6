/**
 * The parity proof: synthesize the real stack in-process and check that the model the local proxy
 * builds from the template says exactly what the configuration says, for many services: each
 * service's target group and ECS service, every rule condition type, weighted forwards with
 * target group stickiness.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AlbatrossConfig, buildConfig, RuleAction, RuleConditions } from '../../../lib/config';
import { acceptedCounts } from '../../../lib/conformance/binomial';
import { ActionModel, ConditionModel, LoadBalancerModel, TargetGroupModel } from '../../../lib/proxy/model';
import { evaluateListener, renderRedirect } from '../../../lib/proxy/rules';
import { createLoadBalancerRuntime } from '../../../lib/proxy/runtime';
import { readServices } from '../../../lib/proxy/services';
import { loadModelFromTemplate } from '../../../lib/proxy/template';
import { Backend, startBackend, waitFor } from './support/backends';
import { addAlbatrossStack } from '../../../lib/app';
import { TEST_CERTIFICATE_ARN, WITHOUT_BUILTIN_VALIDATION } from '../../support/stack';


function synthTemplate(config: AlbatrossConfig): Record<string, unknown> {
  const app = new App({ ...WITHOUT_BUILTIN_VALIDATION, context: { 'aws:cdk:bundling-stacks': [] } });
  // The same function the CDK app (bin/albatross.ts) uses, so the test synthesizes what deploys.
  return Template.fromStack(addAlbatrossStack(app, config)).toJSON() as Record<string, unknown>;
}

function modelOf(template: Record<string, unknown>): LoadBalancerModel {
  const warnings: string[] = [];
  const model = loadModelFromTemplate(template, { onWarning: (w) => warnings.push(w) });
  expect(warnings).toEqual([]);
  return model;
}

function groupByName(model: LoadBalancerModel, name: string): TargetGroupModel {
  const group = Object.values(model.targetGroups).find((g) => g.name === name);
  if (!group) throw new Error(`no target group named ${name}`);
  return group;
}

/** The model's rule conditions for a config rule's conditions, in the config's order of fields. */
function conditionModels(c: RuleConditions): ConditionModel[] {
  return [
    ...(c.pathPatterns ? [{ field: 'path-pattern' as const, values: c.pathPatterns }] : []),
    ...(c.hostHeaders ? [{ field: 'host-header' as const, values: c.hostHeaders }] : []),
    ...(c.httpHeaders ?? []).map((h) => ({ field: 'http-header' as const, headerName: h.name, values: h.values })),
    ...(c.httpRequestMethods ? [{ field: 'http-request-method' as const, values: c.httpRequestMethods }] : []),
    ...(c.queryStrings ? [{ field: 'query-string' as const, values: c.queryStrings.map((q) => (q.key === undefined ? { value: q.value } : { key: q.key, value: q.value })) }] : []),
    ...(c.sourceIps ? [{ field: 'source-ip' as const, values: c.sourceIps }] : []),
  ];
}

const byJson = <T>(items: T[]): T[] => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** The model's action for a config action: forwards by the groups' logical ids, a single service at weight 1. */
function actionModel(model: LoadBalancerModel, action: RuleAction): ActionModel {
  if ('fixedResponse' in action) {
    const f = action.fixedResponse;
    return { type: 'fixed-response', statusCode: f.statusCode, contentType: f.contentType, body: f.body };
  }
  const entries = Object.entries(action.forward);
  return {
    type: 'forward',
    targetGroups: entries.map(([name, weight]) => ({ targetGroup: groupByName(model, name).logicalId, weight: entries.length === 1 ? 1 : weight })),
    ...(action.groupStickinessSeconds === undefined ? {} : { groupStickinessSeconds: action.groupStickinessSeconds }),
  };
}

describe('the model of the synthesized AlbatrossStack matches its configuration, for many services', () => {
  // Eight services: the default four and four more, every condition type, a weighted rule.
  const config = buildConfig({
    certificateArn: TEST_CERTIFICATE_ARN,
    loadBalancer: { idleTimeoutSeconds: 75, desyncMitigationMode: 'strictest' },
    services: {
      web: { slowStartSeconds: 45, healthCheck: { path: '/ready', intervalSeconds: 10, timeoutSeconds: 4, healthyThreshold: 3, unhealthyThreshold: 4, matcher: '200-204' } },
      static: { stickinessSeconds: 3600, deregistrationDelaySeconds: 5, desiredCount: 3 },
      admin: { desiredCount: 1, containerPort: 8080, healthCheck: { path: '/admin/health' } },
      search: { algorithm: 'weighted_random', anomalyMitigation: true, deregistrationDelaySeconds: 120 },
      'search-next': { algorithm: 'weighted_random', desiredCount: 1 },
      reports: { desiredCount: 4, deregistrationDelaySeconds: 300 },
    },
    defaultAction: { forward: { web: 80, 'web-canary': 20 }, groupStickinessSeconds: 600 },
    rules: [
      { priority: 1, conditions: { hostHeaders: ['api.*'] }, action: { forward: 'api' } },
      { priority: 2, conditions: { pathPatterns: ['/admin/*'], sourceIps: ['10.0.0.0/8', '2001:db8::/32'] }, action: { forward: 'admin' } },
      { priority: 3, conditions: { httpHeaders: [{ name: 'X-Beta', values: ['yes', 'on'] }] }, action: { forward: { search: 50, 'search-next': 50 }, groupStickinessSeconds: 300 } },
      { priority: 4, conditions: { httpRequestMethods: ['POST', 'PUT'], pathPatterns: ['/reports/*'] }, action: { forward: 'reports' } },
      { priority: 5, conditions: { queryStrings: [{ key: 'version', value: 'v2*' }, { value: 'beta' }] }, action: { forward: { search: 1 } } },
      { priority: 10, conditions: { pathPatterns: ['/api/*'] }, action: { forward: 'api' } },
      { priority: 20, conditions: { pathPatterns: ['/static/*'] }, action: { forward: 'static' } },
      { priority: 30, conditions: { pathPatterns: ['/maintenance'] }, action: { fixedResponse: { statusCode: 503, contentType: 'application/json', body: '{"status":"maintenance"}' } } },
    ],
  });
  let template: Record<string, unknown>;
  let model: LoadBalancerModel;
  beforeAll(() => {
    template = synthTemplate(config);
    model = modelOf(template);
  }, 120_000);

  it('has the load balancer settings of the config', () => {
    expect(model.idleTimeoutSeconds).toBe(75);
    expect(model.desyncMitigationMode).toBe('strictest');
    expect(model.dropInvalidHeaderFields).toBe(true);
    expect(model.http2Enabled).toBe(true);
  });

  it('has one target group per service, by name, with its health check, draining, algorithm and stickiness', () => {
    expect(Object.keys(config.services)).toHaveLength(8);
    expect(Object.values(model.targetGroups).map((g) => g.name).sort()).toEqual(Object.keys(config.services).sort());
    for (const [name, settings] of Object.entries(config.services)) {
      const group = groupByName(model, name);
      expect({ name, ...group.healthCheck }).toEqual({ name, enabled: true, ...settings.healthCheck });
      expect({ name, delay: group.deregistrationDelaySeconds, slowStart: group.slowStartSeconds, algorithm: group.algorithm, anomaly: group.anomalyMitigation, port: group.port }).toEqual({
        name,
        delay: settings.deregistrationDelaySeconds,
        slowStart: settings.slowStartSeconds,
        algorithm: settings.algorithm,
        anomaly: settings.anomalyMitigation,
        port: settings.containerPort,
      });
      expect({ name, sticky: group.stickiness.enabled }).toEqual({ name, sticky: settings.stickinessSeconds !== undefined });
      if (settings.stickinessSeconds !== undefined) expect(group.stickiness).toEqual({ enabled: true, type: 'lb_cookie', durationSeconds: settings.stickinessSeconds });
    }
    expect(groupByName(model, 'web').slowStartSeconds).toBe(45);
    expect(groupByName(model, 'api').algorithm).toBe('least_outstanding_requests');
    expect(groupByName(model, 'search').anomalyMitigation).toBe(true);
  });

  it('has one ECS service per service, registered only in its own group, with its desired count (what compose and the demo run)', () => {
    expect(readServices(template, model)).toEqual(
      Object.entries(config.services).map(([name, s]) => ({ name, logicalId: expect.any(String), targetGroups: [name], replicas: s.desiredCount, healthCheckPaths: [s.healthCheck.path] })),
    );
  });

  it('has the HTTPS listener: the weighted default forward with group stickiness, every rule with its conditions and action, the security headers', () => {
    const https = model.listeners.find((l) => l.protocol === 'HTTPS')!;
    expect(https.port).toBe(config.loadBalancer.httpsPort);
    expect(https.defaultAction).toEqual(actionModel(model, config.defaultAction));
    expect(https.defaultAction).toMatchObject({ groupStickinessSeconds: 600, targetGroups: [{ weight: 80 }, { weight: 20 }] });
    const expected = [...config.rules].sort((a, b) => a.priority - b.priority);
    expect(https.rules.map((r) => r.priority)).toEqual(expected.map((r) => r.priority));
    https.rules.forEach((rule, i) => {
      const want = expected[i];
      expect({ priority: rule.priority, conditions: byJson(rule.conditions) }).toEqual({ priority: want.priority, conditions: byJson(conditionModels(want.conditions)) });
      expect({ priority: rule.priority, action: rule.action }).toEqual({ priority: want.priority, action: actionModel(model, want.action) });
    });
    const fields = new Set(https.rules.flatMap((r) => r.conditions.map((c) => c.field)));
    expect([...fields].sort()).toEqual(['host-header', 'http-header', 'http-request-method', 'path-pattern', 'query-string', 'source-ip']);
    const h = config.loadBalancer.securityHeaders;
    expect(https.responseHeaders).toEqual({
      'Strict-Transport-Security': h.strictTransportSecurity,
      'X-Content-Type-Options': h.contentTypeOptions,
      'X-Frame-Options': h.frameOptions,
      'Content-Security-Policy': h.contentSecurityPolicy,
    });
    expect(https.removeServerHeader).toBe(h.removeServerHeader);
  });

  it('has the HTTP listener: a 301 to HTTPS keeping host, path and query', () => {
    const http = model.listeners.find((l) => l.protocol === 'HTTP')!;
    expect(http.port).toBe(config.loadBalancer.httpPort);
    expect(http.rules).toEqual([]);
    expect(http.defaultAction).toEqual({
      type: 'redirect',
      protocol: 'HTTPS',
      host: '#{host}',
      port: String(config.loadBalancer.httpsPort),
      path: '/#{path}',
      query: '#{query}',
      statusCode: 301,
    });
  });
});

describe('the data plane runs the synthesized load balancer (the default services)', () => {
  const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN });
  let model: LoadBalancerModel;
  let backends: Record<string, Backend>;
  beforeAll(async () => {
    model = modelOf(synthTemplate(config));
    backends = Object.fromEntries(await Promise.all(Object.keys(config.services).map(async (name) => [name, await startBackend('/health')] as const)));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  const facts = (path: string, query = '', host = 'shop.example.com') => ({ method: 'GET', path, query, headers: { host }, sourceIp: '::ffff:127.0.0.1' });

  it('redirects HTTP to HTTPS keeping host, path and query, mapped to local ports', () => {
    const http = model.listeners.find((l) => l.protocol === 'HTTP')!;
    const action = evaluateListener(http, facts('/cart/items', 'id=7&x=1'));
    if (action.type !== 'redirect') throw new Error(`expected a redirect, got ${action.type}`);
    expect(action.statusCode).toBe(301);
    expect(renderRedirect(action, facts('/cart/items', 'id=7&x=1'), http.port, http.protocol)).toBe('https://shop.example.com:443/cart/items?id=7&x=1');
    expect(renderRedirect(action, facts('/'), http.port, http.protocol, { 443: 8443, 80: 8080 })).toBe('https://shop.example.com:8443/');
  });

  it('routes by host and path to each service, splits the default by weight, keeps a client on its group, and answers fixed responses', async () => {
    const runtime = createLoadBalancerRuntime(model, Object.fromEntries(Object.entries(backends).map(([name, b]) => [name, [b.address]])), { timeScale: 0.01 });
    try {
      runtime.start();
      await waitFor(() => runtime.report().targetGroups.every((g) => g.targets.every((t) => t.state === 'healthy')), 5000, 'healthy backends');
      const https = model.listeners.find((l) => l.protocol === 'HTTPS')!;
      const serviceOf = (targetId: string) => Object.keys(backends).find((name) => backends[name].id === targetId);
      const routeTo = (path: string, host?: string, cookies: Record<string, string> = {}): string => {
        const action = evaluateListener(https, facts(path, '', host));
        if (action.type !== 'forward') return `${action.type}:${action.type === 'fixed-response' ? action.statusCode : ''}`;
        const lease = runtime.targetGroup(runtime.chooseForward(action, cookies).targetGroup)!.acquire({});
        if (!('release' in lease)) return lease.reason;
        lease.release({ failed: false });
        return serviceOf(lease.targetId) ?? lease.targetId;
      };
      expect(routeTo('/api/v1/orders')).toBe('api');
      expect(routeTo('/', 'api.example.com')).toBe('api');
      expect(routeTo('/static/site.css')).toBe('static');
      expect(routeTo('/maintenance')).toBe('fixed-response:503');
      // Case matters for paths: /API/… is the default action's.
      expect(['web', 'web-canary']).toContain(routeTo('/API/v1/orders'));
      // The default action's 90/10 over 2000 choices without cookies, within the exact binomial range (α = 1e-6).
      const weights = Object.entries((config.defaultAction as { forward: Record<string, number> }).forward);
      const total = weights.reduce((sum, [, w]) => sum + w, 0);
      const counts: Record<string, number> = {};
      for (let i = 0; i < 2000; i++) {
        const service = routeTo('/');
        counts[service] = (counts[service] ?? 0) + 1;
      }
      for (const [name, weight] of weights) {
        const range = acceptedCounts(2000, weight / total, 1e-6 / weights.length);
        expect({ name, inRange: counts[name] >= range.low && counts[name] <= range.high }).toEqual({ name, inRange: true });
      }
      // With the AWSALBTG cookie a chosen group stays chosen.
      const choice = runtime.chooseForward(https.defaultAction as Extract<ActionModel, { type: 'forward' }>, {});
      const cookie = { AWSALBTG: choice.setCookies![0].split(';')[0].slice('AWSALBTG='.length) };
      const stuck = new Set(Array.from({ length: 50 }, () => runtime.chooseForward(https.defaultAction as Extract<ActionModel, { type: 'forward' }>, cookie).targetGroup));
      expect(stuck).toEqual(new Set([choice.targetGroup]));
      const sticky = runtime.targetGroup('web')!.acquire({});
      expect('setCookie' in sticky && sticky.setCookie).toMatch(/^AWSALB=[\w-]+; Expires=.*; Path=\/$/);
      if ('release' in sticky) sticky.release({ failed: false });
    } finally {
      await runtime.stop();
    }
  });
});
