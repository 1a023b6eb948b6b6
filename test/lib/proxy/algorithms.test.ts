import {
  ANOMALY_WEIGHT,
  applyAnomalyMitigation,
  Candidate,
  LeastOutstandingPicker,
  recordOutcome,
  RoundRobinPicker,
  smoothWeightedPick,
  WeightedRandomPicker,
} from '../../../lib/proxy/algorithms';
import { parseMatcher } from '../../../lib/proxy/health-checker';
import { entersSlowStart, slowStartWeight, SLOW_START_MIN_WEIGHT } from '../../../lib/proxy/slow-start';
import { StickyCookies } from '../../../lib/proxy/stickiness';

function candidates(...inFlight: number[]): Candidate[] {
  return inFlight.map((n) => ({ inFlight: n, weight: 1, current: 0, errorRate: 0, samples: 0 }));
}

function counts(pick: () => number, n: number, size: number): number[] {
  const out = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) out[pick()]++;
  return out;
}

/** Deterministic PRNG (mulberry32) so random pickers are testable. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('round robin (docs/alb-behaviour.md §11)', () => {
  it('rotates through the candidates in order', () => {
    const p = new RoundRobinPicker();
    const c = candidates(0, 0, 0);
    expect(Array.from({ length: 7 }, () => p.pick(c, false))).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });
  it('keeps rotating when the list shrinks', () => {
    const p = new RoundRobinPicker();
    p.pick(candidates(0, 0, 0), false);
    p.pick(candidates(0, 0, 0), false);
    expect(p.pick(candidates(0, 0), false)).toBe(0);
  });
  it('gives each candidate its weight share, interleaved, with smooth weighted round robin', () => {
    const c = candidates(0, 0, 0);
    c[2].weight = 0.25;
    const result = counts(() => smoothWeightedPick(c), 900, 3);
    expect(result).toEqual([400, 400, 100]);
  });
});

describe('least outstanding requests (docs/alb-behaviour.md §11)', () => {
  it('picks the candidate with the fewest requests in flight', () => {
    const p = new LeastOutstandingPicker();
    expect(p.pick(candidates(5, 2, 9))).toBe(1);
    expect(p.pick(candidates(5, 2, 0))).toBe(2);
  });
  it('breaks ties round robin', () => {
    const p = new LeastOutstandingPicker();
    const c = candidates(1, 1, 1);
    expect([p.pick(c), p.pick(c), p.pick(c), p.pick(c)]).toEqual([0, 1, 2, 0]);
  });
});

describe('weighted random and anomaly mitigation (docs/alb-behaviour.md §11)', () => {
  it('spreads evenly without weights and proportionally with them', () => {
    const p = new WeightedRandomPicker(seeded(1));
    const even = counts(() => p.pick(candidates(0, 0), false), 10_000, 2);
    expect(Math.abs(even[0] - 5000)).toBeLessThan(300);
    const c = candidates(0, 0);
    c[1].weight = 0.25;
    const skewed = counts(() => p.pick(c, true), 10_000, 2);
    expect(skewed[1] / 10_000).toBeCloseTo(0.2, 1);
  });

  it('lowers the weight of a target whose error rate is abnormal, not of healthy ones', () => {
    const c = candidates(0, 0, 0);
    for (let i = 0; i < 30; i++) {
      recordOutcome(c[0], true);
      recordOutcome(c[1], false);
      recordOutcome(c[2], i % 10 === 0);
    }
    expect(applyAnomalyMitigation(c)).toBe(true);
    expect(c.map((x) => x.weight)).toEqual([ANOMALY_WEIGHT, 1, 1]);
  });

  it('mitigates nobody when every target fails alike, or with too few samples', () => {
    const alike = candidates(0, 0);
    for (let i = 0; i < 30; i++) alike.forEach((x) => recordOutcome(x, true));
    expect(applyAnomalyMitigation(alike)).toBe(false);
    const young = candidates(0, 0);
    for (let i = 0; i < 5; i++) recordOutcome(young[0], true);
    expect(applyAnomalyMitigation(young)).toBe(false);
  });

  it('lets a mitigated target recover once it succeeds again', () => {
    const c = candidates(0, 0);
    for (let i = 0; i < 30; i++) {
      recordOutcome(c[0], true);
      recordOutcome(c[1], false);
    }
    expect(applyAnomalyMitigation(c)).toBe(true);
    for (let i = 0; i < 30; i++) recordOutcome(c[0], false);
    c[0].weight = 1;
    expect(applyAnomalyMitigation(c)).toBe(false);
  });
});

describe('slow start (docs/alb-behaviour.md §12)', () => {
  it('ramps the weight linearly from almost nothing to 1 over the window', () => {
    expect(slowStartWeight(0, 30_000)).toBe(SLOW_START_MIN_WEIGHT);
    expect(slowStartWeight(7_500, 30_000)).toBeCloseTo(0.25);
    expect(slowStartWeight(15_000, 30_000)).toBeCloseTo(0.5);
    expect(slowStartWeight(30_000, 30_000)).toBe(1);
    expect(slowStartWeight(10, 0)).toBe(1);
  });
  it('is entered only when other targets are healthy', () => {
    expect(entersSlowStart(30_000, 0)).toBe(false);
    expect(entersSlowStart(30_000, 1)).toBe(true);
    expect(entersSlowStart(0, 3)).toBe(false);
  });
});

describe('health check matcher (docs/alb-behaviour.md §6)', () => {
  it('accepts single codes, lists and ranges', () => {
    const m = parseMatcher('200,204,300-302');
    expect([200, 204, 300, 301, 302].every(m)).toBe(true);
    expect([201, 299, 303, 500].some(m)).toBe(false);
  });
  it('rejects garbage with a clear error', () => {
    expect(() => parseMatcher('2xx')).toThrow('invalid health check matcher "2xx"');
    expect(() => parseMatcher('299-200')).toThrow('is reversed');
  });
});

describe('sticky cookies (docs/alb-behaviour.md §14)', () => {
  const key = Buffer.alloc(32, 7);
  it('issues an opaque token per target that maps back only to that target', () => {
    const s = new StickyCookies<string>('Tg', 86400, key);
    s.add('a', '127.0.0.1:1');
    s.add('b', '127.0.0.1:2');
    const [cookieA] = s.setCookies('a', 0);
    const token = /^AWSALB=([^;]+);/.exec(cookieA)![1];
    expect(token).not.toContain('127.0.0.1');
    expect(s.lookup(token)).toBe('a');
    expect(s.lookup('127.0.0.1:2')).toBeUndefined();
    expect(s.lookup(undefined)).toBeUndefined();
  });
  it('cannot be forged without the process key', () => {
    const s = new StickyCookies<string>('Tg', 60, key);
    s.add('a', '127.0.0.1:1');
    const other = new StickyCookies<string>('Tg', 60, Buffer.alloc(32, 8));
    other.add('x', '127.0.0.1:1');
    const forged = /^AWSALB=([^;]+);/.exec(other.setCookies('x', 0)[0])![1];
    expect(s.lookup(forged)).toBeUndefined();
  });
  it('sets AWSALB and AWSALBCORS expiring after the configured duration', () => {
    const s = new StickyCookies<string>('Tg', 3600, key);
    s.add('a', 'h:1');
    const now = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
    const [plain, cors] = s.setCookies('a', now);
    expect(plain).toMatch(/^AWSALB=[\w-]+; Expires=Thu, 01 Jan 2026 13:00:00 GMT; Path=\/$/);
    expect(cors).toMatch(/^AWSALBCORS=[\w-]+; Expires=Thu, 01 Jan 2026 13:00:00 GMT; Path=\/; SameSite=None; Secure$/);
    expect(s.setCookies('a', now + 400)).toBe(s.setCookies('a', now));
    s.remove('a');
    expect(s.lookup(/^AWSALB=([^;]+);/.exec(plain)![1])).toBeUndefined();
  });
});
