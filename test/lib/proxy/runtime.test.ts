import { LoadBalancerModel } from '../../../lib/proxy/model';
import { assertKnownServices, chooseTargetGroup, createLoadBalancerRuntime, parseTargetAddress, parseTargetsOption } from '../../../lib/proxy/runtime';
import { Backend, groupModel, startBackend, waitFor } from './support/backends';

function model(): LoadBalancerModel {
  return {
    logicalId: 'Lb',
    idleTimeoutSeconds: 60,
    dropInvalidHeaderFields: true,
    desyncMitigationMode: 'defensive',
    http2Enabled: true,
    listeners: [],
    targetGroups: {
      TgApp: groupModel(),
      TgApi: groupModel({ logicalId: 'TgApi', name: 'api', deregistrationDelaySeconds: 5 }),
    },
  };
}

describe('createLoadBalancerRuntime', () => {
  let backends: Backend[] = [];
  afterEach(async () => {
    await Promise.all(backends.map((b) => b.close()));
    backends = [];
  });

  it('registers backends by short name or logical id and reports every group with in-flight counts', async () => {
    backends = [await startBackend(), await startBackend()];
    const runtime = createLoadBalancerRuntime(model(), { app: [backends[0].address], TgApi: [backends[1].address] }, { timeScale: 0.01 });
    try {
      expect(runtime.targetGroup('app')).toBe(runtime.targetGroup('TgApp'));
      expect(runtime.targetGroup('nope')).toBeUndefined();
      runtime.start();
      await waitFor(() => runtime.report().targetGroups.every((g) => g.targets.every((t) => t.state === 'healthy')));
      const lease = runtime.targetGroup('api')!.acquire({});
      expect(runtime.report()).toEqual({
        targetGroups: [
          { name: 'app', logicalId: 'TgApp', deregistrationDelaySeconds: 30, targets: [{ id: backends[0].id, state: 'healthy', inFlight: 0 }] },
          { name: 'api', logicalId: 'TgApi', deregistrationDelaySeconds: 5, targets: [{ id: backends[1].id, state: 'healthy', inFlight: 1 }] },
        ],
      });
      if ('release' in lease) lease.release({ failed: false });
    } finally {
      await runtime.stop();
    }
  });

  it('rejects unknown services in one line naming the known ones', () => {
    expect(() => createLoadBalancerRuntime(model(), { web: [{ host: '127.0.0.1', port: 1 }] })).toThrow(
      /^--targets: unknown service "web"; the template's services \(target groups\) are app, api$/,
    );
    expect(() => assertKnownServices(model(), { app: [], web: [], TgApi: [], cart: [] })).toThrow('unknown services "web", "cart";');
    expect(() => assertKnownServices(model(), { app: [], TgApi: [] })).not.toThrow();
  });
});

describe('--targets parsing', () => {
  it('parses names and addresses, IPv6 and a bare port', () => {
    const into = parseTargetsOption('app=127.0.0.1:9001, 127.0.0.1:9002');
    parseTargetsOption('api=[::1]:9003,:9004', into);
    expect(into).toEqual({
      app: [{ host: '127.0.0.1', port: 9001 }, { host: '127.0.0.1', port: 9002 }],
      api: [{ host: '::1', port: 9003 }, { host: '127.0.0.1', port: 9004 }],
    });
  });
  it('gives a readable error for bad input', () => {
    expect(() => parseTargetsOption('127.0.0.1:9001')).toThrow('invalid --targets "127.0.0.1:9001": expected <service>=<host:port>');
    expect(() => parseTargetAddress('localhost:99999')).toThrow('invalid target "localhost:99999": expected host:port');
  });
});

describe('chooseTargetGroup', () => {
  it('follows the forward weights', () => {
    const action = { type: 'forward' as const, targetGroups: [{ targetGroup: 'A', weight: 80 }, { targetGroup: 'B', weight: 20 }, { targetGroup: 'C', weight: 0 }] };
    let i = 0;
    const random = (): number => (i++ % 100) / 100;
    const counts: Record<string, number> = { A: 0, B: 0, C: 0 };
    for (let n = 0; n < 1000; n++) counts[chooseTargetGroup(action, random)]++;
    expect(counts).toEqual({ A: 800, B: 200, C: 0 });
  });
});
