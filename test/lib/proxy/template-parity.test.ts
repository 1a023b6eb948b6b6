/**
 * The parity proof: synthesize the real stack in-process and check that the model the local proxy
 * builds from the template says exactly what the configuration says.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AlbatrossConfig, buildConfig } from '../../../lib/config';
import { LoadBalancerModel, TargetGroupModel } from '../../../lib/proxy/model';
import { evaluateListener, renderRedirect } from '../../../lib/proxy/rules';
import { chooseTargetGroup, createLoadBalancerRuntime } from '../../../lib/proxy/runtime';
import { loadModelFromTemplate } from '../../../lib/proxy/template';
import { Backend, startBackend, waitFor } from './support/backends';
import { addAlbatrossStack } from '../../../lib/app';
import { TEST_CERTIFICATE_ARN, WITHOUT_BUILTIN_VALIDATION } from '../../support/stack';


function synthModel(config: AlbatrossConfig): LoadBalancerModel {
  const app = new App({ ...WITHOUT_BUILTIN_VALIDATION, context: { 'aws:cdk:bundling-stacks': [] } });
  // The same function the CDK app (bin/albatross.ts) uses, so the test synthesizes what deploys.
  const stack = addAlbatrossStack(app, config);
  const warnings: string[] = [];
  const model = loadModelFromTemplate(Template.fromStack(stack).toJSON(), { onWarning: (w) => warnings.push(w) });
  expect(warnings).toEqual([]);
  return model;
}

function groupByName(model: LoadBalancerModel, name: string): TargetGroupModel {
  const group = Object.values(model.targetGroups).find((g) => g.name === name);
  if (!group) throw new Error(`no target group named ${name}`);
  return group;
}

describe('the model of the synthesized AlbatrossStack matches its configuration', () => {
  const config = buildConfig({
    certificateArn: TEST_CERTIFICATE_ARN,
    loadBalancer: { idleTimeoutSeconds: 75, desyncMitigationMode: 'strictest' },
    targetGroups: {
      app: { slowStartSeconds: 45, healthCheck: { path: '/ready', intervalSeconds: 10, timeoutSeconds: 4, healthyThreshold: 3, unhealthyThreshold: 4, matcher: '200-204' } },
      static: { stickinessSeconds: 3600, deregistrationDelaySeconds: 5 },
    },
  });
  let model: LoadBalancerModel;
  beforeAll(() => {
    model = synthModel(config);
  }, 120_000);

  it('has the load balancer settings of the config', () => {
    expect(model.idleTimeoutSeconds).toBe(75);
    expect(model.desyncMitigationMode).toBe('strictest');
    expect(model.dropInvalidHeaderFields).toBe(true);
    expect(model.http2Enabled).toBe(true);
  });

  it('has every configured target group, by name, with its health check, draining, algorithm and stickiness', () => {
    expect(Object.values(model.targetGroups).map((g) => g.name).sort()).toEqual(Object.keys(config.targetGroups).sort());
    for (const [name, settings] of Object.entries(config.targetGroups)) {
      const group = groupByName(model, name);
      expect({ name, ...group.healthCheck }).toEqual({ name, enabled: true, ...settings.healthCheck });
      expect(group.deregistrationDelaySeconds).toBe(settings.deregistrationDelaySeconds);
      expect(group.slowStartSeconds).toBe(settings.slowStartSeconds);
      expect(group.algorithm).toBe(settings.algorithm);
      expect(group.anomalyMitigation).toBe(settings.anomalyMitigation);
      expect(group.stickiness.enabled).toBe(settings.stickinessSeconds !== undefined);
      if (settings.stickinessSeconds !== undefined) expect(group.stickiness).toEqual({ enabled: true, type: 'lb_cookie', durationSeconds: settings.stickinessSeconds });
      expect(group.port).toBe(config.service.containerPort);
    }
    expect(groupByName(model, 'app').slowStartSeconds).toBe(45);
    expect(groupByName(model, 'api').algorithm).toBe('least_outstanding_requests');
  });

  it('has the HTTPS listener: default forward, the rules in priority order, the security headers', () => {
    const https = model.listeners.find((l) => l.protocol === 'HTTPS')!;
    expect(https.port).toBe(config.loadBalancer.httpsPort);
    expect(https.defaultAction).toEqual({ type: 'forward', targetGroups: [{ targetGroup: groupByName(model, config.service.defaultTargetGroup).logicalId, weight: 1 }] });
    const expected = [...config.rules].sort((a, b) => a.priority - b.priority);
    expect(https.rules.map((r) => r.priority)).toEqual(expected.map((r) => r.priority));
    https.rules.forEach((rule, i) => {
      const want = expected[i];
      expect(rule.conditions).toEqual([{ field: 'path-pattern', values: want.pathPatterns }]);
      if ('forward' in want.action) {
        expect(rule.action).toEqual({ type: 'forward', targetGroups: [{ targetGroup: groupByName(model, want.action.forward).logicalId, weight: 1 }] });
      } else {
        const f = want.action.fixedResponse;
        expect(rule.action).toEqual({ type: 'fixed-response', statusCode: f.statusCode, contentType: f.contentType, body: f.body });
      }
    });
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

describe('the data plane runs the synthesized load balancer', () => {
  const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN });
  let model: LoadBalancerModel;
  let backends: Record<string, Backend>;
  beforeAll(async () => {
    model = synthModel(config);
    backends = { app: await startBackend('/health'), api: await startBackend('/health'), static: await startBackend('/health') };
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  const facts = (path: string, query = '') => ({ method: 'GET', path, query, headers: { host: 'shop.example.com' }, sourceIp: '::ffff:127.0.0.1' });

  it('redirects HTTP to HTTPS keeping host, path and query, mapped to local ports', () => {
    const http = model.listeners.find((l) => l.protocol === 'HTTP')!;
    const action = evaluateListener(http, facts('/cart/items', 'id=7&x=1'));
    if (action.type !== 'redirect') throw new Error(`expected a redirect, got ${action.type}`);
    expect(action.statusCode).toBe(301);
    expect(renderRedirect(action, facts('/cart/items', 'id=7&x=1'), http.port, http.protocol)).toBe('https://shop.example.com:443/cart/items?id=7&x=1');
    expect(renderRedirect(action, facts('/'), http.port, http.protocol, { 443: 8443, 80: 8080 })).toBe('https://shop.example.com:8443/');
  });

  it('routes each configured path to its target group, healthy backends only, and answers fixed responses', async () => {
    const runtime = createLoadBalancerRuntime(
      model,
      { app: [backends.app.address], api: [backends.api.address], static: [backends.static.address] },
      { timeScale: 0.01 },
    );
    try {
      runtime.start();
      await waitFor(() => runtime.report().targetGroups.every((g) => g.targets.every((t) => t.state === 'healthy')), 5000, 'healthy backends');
      const https = model.listeners.find((l) => l.protocol === 'HTTPS')!;
      const routeTo = (path: string): string => {
        const action = evaluateListener(https, facts(path));
        if (action.type !== 'forward') return `${action.type}:${action.type === 'fixed-response' ? action.statusCode : ''}`;
        const lease = runtime.targetGroup(chooseTargetGroup(action))!.acquire({});
        if (!('release' in lease)) return lease.reason;
        lease.release({ failed: false });
        return lease.targetId;
      };
      expect(routeTo('/api/v1/orders')).toBe(backends.api.id);
      expect(routeTo('/static/site.css')).toBe(backends.static.id);
      expect(routeTo('/')).toBe(backends.app.id);
      expect(routeTo('/API/v1/orders')).toBe(backends.app.id);
      expect(routeTo('/maintenance')).toBe('fixed-response:503');
      const sticky = runtime.targetGroup('static')!.acquire({});
      expect('setCookie' in sticky && sticky.setCookie).toMatch(/^AWSALB=[\w-]+; Expires=.*; Path=\/$/);
      if ('release' in sticky) sticky.release({ failed: false });
    } finally {
      await runtime.stop();
    }
  });
});
