import { NoTarget, TargetLease } from '../../../lib/proxy/contracts';
import { TargetGroupModel, TargetState } from '../../../lib/proxy/model';
import { TargetGroup, TargetGroupOptions } from '../../../lib/proxy/target-group';
import { Backend, closedPort, groupModel, startBackend, waitFor } from './support/backends';

/** 10 s interval → 100 ms, 5 s timeout → 50 ms, 30 s delay → 300 ms. */
const TIME_SCALE = 0.01;
/** For tests that count checks exactly: a 150 ms timeout no loaded machine misses on loopback. */
const EXACT_SCALE = 0.03;

const groups: TargetGroup[] = [];
const backends: Backend[] = [];

function group(over: Partial<TargetGroupModel> = {}, options: TargetGroupOptions = {}): TargetGroup {
  const g = new TargetGroup(groupModel(over), { timeScale: TIME_SCALE, ...options });
  groups.push(g);
  return g;
}

async function backend(): Promise<Backend> {
  const b = await startBackend();
  backends.push(b);
  return b;
}

afterEach(async () => {
  groups.splice(0).forEach((g) => g.stop());
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

function isLease(x: TargetLease | NoTarget): x is TargetLease {
  return 'release' in x;
}

function lease(g: TargetGroup, cookies: Record<string, string> = {}): TargetLease {
  const l = g.acquire(cookies);
  if (!isLease(l)) throw new Error(`no target: ${l.reason}`);
  return l;
}

function stateOf(g: TargetGroup, id: string): TargetState | undefined {
  return g.status().find((t) => t.id === id)?.state;
}

const healthy = (g: TargetGroup, ...bs: Backend[]) => () => bs.every((b) => stateOf(g, b.id) === 'healthy');

describe('health checks over real sockets (docs/alb-behaviour.md §6–8)', () => {
  it('moves initial → healthy after healthyThreshold passing checks of the configured path', async () => {
    const b = await backend();
    const states: string[] = [];
    let stateAtThirdCheck: string | undefined;
    // Exactly three passing checks exist: a threshold above 3 would never reach healthy.
    b.healthStatusFor = (n) => {
      if (n === 3) stateAtThirdCheck = stateOf(g, b.id);
      return n <= 3 ? 200 : 503;
    };
    const g = group(
      { healthCheck: { ...groupModel().healthCheck, healthyThreshold: 3, unhealthyThreshold: 10 } },
      { timeScale: EXACT_SCALE, onStateChange: (e) => states.push(`${e.state}/${e.reason ?? ''}`) },
    );
    g.register(b.address);
    expect(g.status()).toEqual([{ id: b.id, state: 'initial', reason: 'Elb.RegistrationInProgress', inFlight: 0 }]);
    g.start();
    await waitFor(() => states.includes('healthy/'), 3000, 'healthy');
    // Two passes were not enough (a threshold below 3 would be healthy by the third check).
    expect(stateAtThirdCheck).toBe('initial');
    expect(b.healthRequests[0].path).toBe('/health');
    expect(b.healthRequests[0].headers['user-agent']).toBe('ELB-HealthChecker/2.0');
    // A new connection for every check, as the ALB opens one per check.
    expect(b.healthRequests[0].headers.connection).toBe('close');
    expect(new Set(b.healthRequests.map((r) => r.remotePort)).size).toBe(b.healthRequests.length);
    expect(states.slice(0, 3)).toEqual(['initial/Elb.RegistrationInProgress', 'initial/Elb.InitialHealthChecking', 'healthy/']);
  });

  it('marks a target unhealthy after unhealthyThreshold failures, with the reason, and healthy again after recovering', async () => {
    const b = await backend();
    let checksWhenUnhealthy = -1;
    const g = group({}, { timeScale: EXACT_SCALE, onStateChange: (e) => e.state === 'unhealthy' && (checksWhenUnhealthy = b.healthRequests.length) });
    g.register(b.address);
    g.start();
    await waitFor(healthy(g, b));
    b.healthStatus = 500;
    const before = b.healthRequests.length;
    await waitFor(() => stateOf(g, b.id) === 'unhealthy', 3000, 'unhealthy');
    expect(checksWhenUnhealthy - before).toBe(2);
    expect(g.status()[0].reason).toBe('Target.ResponseCodeMismatch');
    b.healthStatus = 200;
    await waitFor(healthy(g, b), 3000, 'healthy again');
  });

  it('accepts any code in a matcher range', async () => {
    const b = await backend();
    b.healthStatus = 204;
    const g = group({ healthCheck: { ...groupModel().healthCheck, matcher: '200-299' } });
    g.register(b.address);
    g.start();
    await waitFor(healthy(g, b));
  });

  it('reports Target.Timeout for a slow answer and Target.FailedHealthChecks for a refused connection', async () => {
    const slow = await backend();
    slow.healthDelayMs = 200;
    const port = await closedPort();
    const g = group();
    g.register(slow.address);
    g.register({ host: '127.0.0.1', port });
    g.start();
    await waitFor(() => g.status().every((t) => t.state === 'unhealthy'), 3000, 'both unhealthy');
    expect(g.status().map((t) => t.reason)).toEqual(['Target.Timeout', 'Target.FailedHealthChecks']);
  });

  it('checks the HealthCheckPort instead of the traffic port when the template sets one', async () => {
    const b = await backend();
    const trafficPort = await closedPort();
    const g = group({ healthCheck: { ...groupModel().healthCheck, port: b.address.port } });
    g.register({ host: '127.0.0.1', port: trafficPort });
    g.start();
    await waitFor(() => stateOf(g, `127.0.0.1:${trafficPort}`) === 'healthy', 3000, 'healthy through the health-check port');
    expect(b.healthRequests.length).toBeGreaterThanOrEqual(2);
  });

  it('HealthCheckProtocol HTTP on an HTTPS group checks over plain HTTP', async () => {
    const b = await backend();
    const g = group({ protocol: 'HTTPS', healthCheck: { ...groupModel().healthCheck, protocol: 'HTTP' } });
    g.register(b.address);
    g.start();
    await waitFor(healthy(g, b), 3000, 'healthy over HTTP');
  });

  it('reports unavailable and routes when health checks are disabled', () => {
    const g = group({ healthCheck: { ...groupModel().healthCheck, enabled: false } });
    g.register({ host: '127.0.0.1', port: 1 });
    expect(g.status()).toEqual([{ id: '127.0.0.1:1', state: 'unavailable', reason: 'Target.HealthCheckDisabled', inFlight: 0 }]);
    expect(lease(g).targetId).toBe('127.0.0.1:1');
  });
});

describe('who gets traffic (docs/alb-behaviour.md §8–10)', () => {
  it('gives no traffic to a new target until it is healthy, when others are healthy', async () => {
    const a = await backend();
    const b = await backend();
    const g = group();
    g.register(a.address);
    g.start();
    await waitFor(healthy(g, a));
    b.healthStatus = 503;
    g.register(b.address);
    for (let i = 0; i < 20; i++) lease(g).release({ failed: false });
    const picked = new Set(Array.from({ length: 10 }, () => lease(g).targetId));
    expect([...picked]).toEqual([a.id]);
    b.healthStatus = 200;
    await waitFor(healthy(g, b));
    const after = new Set(Array.from({ length: 10 }, () => lease(g).targetId));
    expect([...after].sort()).toEqual([a.id, b.id].sort());
  });

  it('fails open: with every target unhealthy it routes to all of them', async () => {
    const a = await backend();
    const b = await backend();
    a.healthStatus = 500;
    b.healthStatus = 500;
    const g = group();
    g.register(a.address);
    g.register(b.address);
    g.start();
    await waitFor(() => g.status().every((t) => t.state === 'unhealthy'), 3000, 'unhealthy');
    expect(g.failingOpen).toBe(true);
    const picked = new Set(Array.from({ length: 4 }, () => lease(g).targetId));
    expect(picked.size).toBe(2);
  });

  it('signals no-registered-targets with no targets, or only draining ones', async () => {
    const g = group();
    expect(g.acquire({})).toEqual({ reason: 'no-registered-targets' });
    g.register({ host: '127.0.0.1', port: 1 });
    void g.deregister('127.0.0.1:1');
    expect(g.acquire({})).toEqual({ reason: 'no-registered-targets' });
  });

  it('tracks in-flight requests per target and releases each lease once', () => {
    const g = group({ healthCheck: { ...groupModel().healthCheck, enabled: false } });
    g.register({ host: '127.0.0.1', port: 1 });
    const l1 = lease(g);
    const l2 = lease(g);
    expect(g.status()[0].inFlight).toBe(2);
    l1.release({ failed: false });
    l1.release({ failed: false });
    expect(g.status()[0].inFlight).toBe(1);
    l2.release({ failed: true });
    expect(g.status()[0].inFlight).toBe(0);
  });
});

describe('algorithms in a group (docs/alb-behaviour.md §11)', () => {
  const noChecks = { healthCheck: { ...groupModel().healthCheck, enabled: false } };
  const addresses = [1, 2, 3].map((port) => ({ host: '127.0.0.1', port }));

  it('round_robin rotates over the targets', () => {
    const g = group(noChecks);
    addresses.forEach((a) => g.register(a));
    expect(Array.from({ length: 6 }, () => lease(g).target.port)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('least_outstanding_requests sends to the target with the fewest in flight', () => {
    const g = group({ ...noChecks, algorithm: 'least_outstanding_requests' });
    addresses.forEach((a) => g.register(a));
    const held = [lease(g), lease(g), lease(g)];
    expect(held.map((l) => l.target.port)).toEqual([1, 2, 3]);
    held[1].release({ failed: false });
    expect(lease(g).target.port).toBe(2);
    expect(lease(g).target.port).not.toBe(2);
  });

  it('weighted_random with anomaly mitigation sends far less to a failing target', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const g = group({ ...noChecks, algorithm: 'weighted_random', anomalyMitigation: true }, { random });
    addresses.forEach((a) => g.register(a));
    const counts: Record<number, number> = { 1: 0, 2: 0, 3: 0 };
    for (let i = 0; i < 3000; i++) {
      const l = lease(g);
      counts[l.target.port]++;
      l.release({ failed: l.target.port === 3 });
    }
    expect(counts[3]).toBeLessThan(3000 / 3 / 3);
    expect(counts[1]).toBeGreaterThan(1000);
    expect(counts[2]).toBeGreaterThan(1000);
  });
});

describe('slow start (docs/alb-behaviour.md §12)', () => {
  it('ramps a newly healthy target linearly, but not when it is the only healthy one', async () => {
    let now = 1_000_000;
    const a = await backend();
    const b = await backend();
    // 300 s of slow start at time scale 0.01 = 3 s on the injected clock.
    const g = group({ slowStartSeconds: 300 }, { now: () => now });
    g.register(a.address);
    g.start();
    await waitFor(healthy(g, a));
    // a was alone: no slow start, it takes everything.
    expect(Array.from({ length: 5 }, () => lease(g).targetId)).toEqual(Array(5).fill(a.id));
    g.register(b.address);
    await waitFor(healthy(g, b));
    const shareOfB = (): number => {
      let hits = 0;
      for (let i = 0; i < 1000; i++) if (lease(g).targetId === b.id) hits++;
      return hits / 1000;
    };
    // weight w against 1: share w / (1 + w)
    expect(shareOfB()).toBeLessThan(0.02);
    now += 750; // a quarter of the window: w = 0.25 → 20 %
    expect(shareOfB()).toBeCloseTo(0.2, 2);
    now += 750; // half: w = 0.5 → 33 %
    expect(shareOfB()).toBeCloseTo(1 / 3, 2);
    now += 1500; // over: equal shares
    expect(shareOfB()).toBeCloseTo(0.5, 2);
  });
});

describe('slow start with another algorithm', () => {
  it('is ignored unless the algorithm is round_robin (the ELB guide allows no other)', async () => {
    const a = await backend();
    const b = await backend();
    let seed = 7;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const g = group({ slowStartSeconds: 300, algorithm: 'weighted_random' }, { now: () => 0, random });
    g.register(a.address);
    g.start();
    await waitFor(healthy(g, a));
    g.register(b.address);
    await waitFor(healthy(g, b));
    // With slow start applied, b would get about 1 %; ignored, it gets half at once.
    let toB = 0;
    for (let i = 0; i < 1000; i++) {
      const l = lease(g);
      l.release({ failed: false });
      if (l.targetId === b.id) toB++;
    }
    expect(toB).toBeGreaterThan(400);
  });
});

describe('stickiness (docs/alb-behaviour.md §14)', () => {
  const sticky = { enabled: true, type: 'lb_cookie' as const, durationSeconds: 120 };

  function token(setCookie: string | undefined): string {
    return /^AWSALB=([^;]+);/.exec(setCookie ?? '')![1];
  }

  it('keeps a client on its target and sets AWSALB and AWSALBCORS on every response', async () => {
    const a = await backend();
    const b = await backend();
    const g = group({ stickiness: sticky }, { now: () => Date.UTC(2026, 0, 1) });
    g.register(a.address);
    g.register(b.address);
    g.start();
    await waitFor(healthy(g, a, b));
    const first = lease(g);
    expect(first.setCookies).toHaveLength(2);
    expect(first.setCookie).toBe(first.setCookies![0]);
    expect(first.setCookie).toContain('Expires=Thu, 01 Jan 2026 00:02:00 GMT');
    expect(first.setCookies![1]).toMatch(/^AWSALBCORS=.*SameSite=None; Secure$/);
    const cookie = token(first.setCookie);
    for (let i = 0; i < 5; i++) expect(lease(g, { AWSALB: cookie }).targetId).toBe(first.targetId);
    expect(lease(g, { AWSALBCORS: cookie }).targetId).toBe(first.targetId);
  });

  it('moves the client and sets a new cookie when its target is draining or unhealthy; ignores forged cookies', async () => {
    const a = await backend();
    const b = await backend();
    const g = group({ stickiness: sticky });
    g.register(a.address);
    g.register(b.address);
    g.start();
    await waitFor(healthy(g, a, b));
    const toA = lease(g);
    const cookieA = token(toA.setCookie);
    const other = toA.targetId === a.id ? b : a;
    void g.deregister(toA.targetId);
    const moved = lease(g, { AWSALB: cookieA });
    expect(moved.targetId).toBe(other.id);
    expect(token(moved.setCookie)).not.toBe(cookieA);
    expect(lease(g, { AWSALB: 'forged-value' }).targetId).toBe(other.id);

    const g2 = group({ stickiness: sticky });
    g2.register(a.address);
    g2.register(b.address);
    g2.start();
    await waitFor(healthy(g2, a, b));
    const first = lease(g2);
    const sick = first.targetId === a.id ? a : b;
    sick.healthStatus = 500;
    await waitFor(() => stateOf(g2, sick.id) === 'unhealthy', 3000, 'unhealthy');
    expect(lease(g2, { AWSALB: token(first.setCookie) }).targetId).not.toBe(sick.id);
  });
});

describe('deregistration (docs/alb-behaviour.md §13)', () => {
  it('stops new requests at once, resolves idle when the last request ends, stays draining for the whole delay', async () => {
    const a = await backend();
    const b = await backend();
    const g = group({ deregistrationDelaySeconds: 50 }); // 500 ms
    g.register(a.address);
    g.register(b.address);
    g.start();
    await waitFor(healthy(g, a, b));
    const held = [lease(g), lease(g)].find((l) => l.targetId === a.id)!;
    const started = Date.now();
    const drained = g.deregister(a.id);
    expect(g.deregister(a.id)).toBe(drained);
    expect(stateOf(g, a.id)).toBe('draining');
    expect(g.status().find((t) => t.id === a.id)).toEqual({ id: a.id, state: 'draining', reason: 'Target.DeregistrationInProgress', inFlight: 1 });
    for (let i = 0; i < 10; i++) expect(lease(g).targetId).toBe(b.id);
    setTimeout(() => held.release({ failed: false }), 50);
    expect(await drained).toBe('idle');
    expect(Date.now() - started).toBeLessThan(400);
    expect(stateOf(g, a.id)).toBe('draining');
    await waitFor(() => stateOf(g, a.id) === undefined, 3000, 'removed after the delay');
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    expect(await g.deregister(a.id)).toBe('not-registered');
  });

  it('resolves timeout when requests are still in flight when the delay ends', async () => {
    const g = group({ healthCheck: { ...groupModel().healthCheck, enabled: false }, deregistrationDelaySeconds: 10 }); // 100 ms
    g.register({ host: '127.0.0.1', port: 1 });
    const held = lease(g);
    expect(await g.deregister('127.0.0.1:1')).toBe('timeout');
    expect(g.status()).toEqual([]);
    held.release({ failed: false });
  });

  it('resolves idle at once when nothing is in flight, and not-registered for unknown targets', async () => {
    const g = group({ healthCheck: { ...groupModel().healthCheck, enabled: false } });
    g.register({ host: '127.0.0.1', port: 1 });
    expect(await g.deregister('127.0.0.1:1')).toBe('idle');
    expect(await g.deregister('127.0.0.1:9')).toBe('not-registered');
  });

  it('lets a draining target be registered again: it starts over as initial', async () => {
    const a = await backend();
    const g = group();
    g.register(a.address);
    g.start();
    await waitFor(healthy(g, a));
    void g.deregister(a.id);
    g.register(a.address);
    expect(stateOf(g, a.id)).toBe('initial');
    await waitFor(healthy(g, a));
  });
});
