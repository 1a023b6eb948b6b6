import { AlbatrossConfig, buildConfig, ConfigError, DEFAULT_CONFIG, DeepPartial } from '../../../lib/config';
import { TEST_CERTIFICATE_ARN } from '../../support/stack';

/** The problems `buildConfig` reports for a partial config over the defaults. */
function problems(partial: DeepPartial<AlbatrossConfig>): string[] {
  try {
    buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, ...partial });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('a valid configuration', () => {
  test('the defaults with a certificate are valid', () => {
    expect(problems({})).toEqual([]);
  });

  test('TLS 1.3 policies with TLS 1.2 or 1.3 as the floor are accepted', () => {
    expect(problems({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' } })).toEqual([]);
    expect(problems({ loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06' } })).toEqual([]);
  });

  test('the defaults are the documented production values', () => {
    const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN });
    expect(config.loadBalancer.tlsPolicy).toBe('ELBSecurityPolicy-TLS13-1-2-2021-06');
    expect(config.loadBalancer.idleTimeoutSeconds).toBe(60);
    expect(config.targetGroups.app.healthCheck).toEqual({ path: '/health', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' });
    expect(config.targetGroups.app.deregistrationDelaySeconds).toBe(30);
    expect(config.capacity).toMatchObject({ minCapacity: 2, maxCapacity: 10, desiredCapacity: 2 });
    expect(config.scaling.cpuTargetPercent).toBe(70);
  });

  test('a partial target group keeps the defaults of the fields it leaves out', () => {
    const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, targetGroups: { api: { deregistrationDelaySeconds: 5 } } });
    expect(config.targetGroups.api.deregistrationDelaySeconds).toBe(5);
    expect(config.targetGroups.api.algorithm).toBe('least_outstanding_requests');
    expect(config.targetGroups.api.healthCheck.path).toBe('/health');
  });

  test('the WAF defaults express the seeds: API 10/s, auth 5/min, upload 2/min, 5 MiB bodies', () => {
    const { waf } = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN });
    const perMinute = (name: string) => {
      const limit = waf.rateLimits.find((l) => l.name === name)!;
      return (limit.limit / limit.windowSeconds) * 60;
    };
    expect(perMinute('api')).toBe(600);
    expect(perMinute('auth')).toBe(5);
    expect(perMinute('upload')).toBe(2);
    expect(waf.maxBodyBytes).toBe(5 * 1024 * 1024);
    expect((waf.generalRateLimit.limit / waf.generalRateLimit.windowSeconds) * 60).toBeGreaterThanOrEqual(perMinute('api'));
  });

  test('a domain instead of a certificate ARN, and an alarm e-mail, are valid', () => {
    const domain = { name: 'app.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
    expect(problems({ certificateArn: '', domain, alarms: { email: 'oncall+albatross@example.co.uk' } })).toEqual([]);
    expect(problems({ certificateArn: null as unknown as string, domain: { ...domain, name: 'example.com' } })).toEqual([]);
  });

  test('null unsets an optional setting that has a default, such as the static group\'s stickiness', () => {
    const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, targetGroups: { static: { stickinessSeconds: null } }, alarms: { email: null } });
    expect(config.targetGroups.static.stickinessSeconds).toBeUndefined();
    expect(config.targetGroups.static.algorithm).toBe('round_robin');
    expect(config.alarms.email).toBeUndefined();
  });

  test('does not mutate the defaults', () => {
    buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, loadBalancer: { idleTimeoutSeconds: 99 } });
    expect(DEFAULT_CONFIG.loadBalancer.idleTimeoutSeconds).toBe(60);
  });
});

describe('bad input fails with the field name and the allowed range', () => {
  test.each<[string, DeepPartial<AlbatrossConfig>, string]>([
    ['neither certificate nor domain', { certificateArn: '' }, 'certificateArn or domain is required'],
    ['both certificate and domain', { domain: { name: 'app.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' } }, 'certificateArn and domain are both set: set exactly one'],
    ['domain outside its zone', { certificateArn: '', domain: { name: 'app.example.org', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' } }, 'domain.name must be domain.hostedZoneName "example.com" or a name below it (got "app.example.org")'],
    ['domain name with a trailing dot', { certificateArn: '', domain: { name: 'app.example.com.', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' } }, 'domain.name must be a lower-case DNS name such as app.example.com'],
    ['hosted zone id of another shape', { certificateArn: '', domain: { name: 'app.example.com', hostedZoneId: '/hostedzone/Z01', hostedZoneName: 'example.com' } }, 'domain.hostedZoneId must be a Route 53 hosted zone ID'],
    ['e-mail without a domain', { alarms: { email: 'oncall' } }, 'alarms.email must be an e-mail address such as oncall@example.com (got "oncall")'],
    ['e-mail with a space', { alarms: { email: 'on call@example.com' } }, 'alarms.email must be an e-mail address'],
    ['rollback switch as a string', { alarms: { rollbackOnAlarm: 'no' as unknown as boolean } }, 'alarms.rollbackOnAlarm must be true or false (got "no")'],
    ['ELB 5xx rate above 100', { alarms: { elb5xxRatePercent: 101 } }, 'alarms.elb5xxRatePercent must be a number above 0 and at most 100 (got 101)'],
    ['rate window of 30 s', { waf: { rateLimits: [{ name: 'api', pathPrefix: '/api/', limit: 100, windowSeconds: 30 as 60 }] } }, 'waf.rateLimits[0].windowSeconds must be one of 60, 120, 300, 600 (got 30)'],
    ['rate limit 5 per minute', { waf: { rateLimits: [{ name: 'auth', pathPrefix: '/auth/', limit: 5, windowSeconds: 60 }] } }, 'waf.rateLimits[0].limit must be an integer from 10 to 2000000000 (got 5)'],
    ['general window of 3600 s', { waf: { generalRateLimit: { limit: 1000, windowSeconds: 3600 as 60 } } }, 'waf.generalRateLimit.windowSeconds must be one of 60, 120, 300, 600 (got 3600)'],
    ['general limit 9', { waf: { generalRateLimit: { limit: 9, windowSeconds: 60 } } }, 'waf.generalRateLimit.limit must be an integer from 10 to 2000000000 (got 9)'],
    ['path limit above the general one', { waf: { generalRateLimit: { limit: 100, windowSeconds: 60 } } }, 'waf.rateLimits[0] allows 600 per 60 s, more than waf.generalRateLimit (100 per 60 s), which would block first'],
    ['duplicate rate limit name', { waf: { rateLimits: [{ name: 'a', pathPrefix: '/a/', limit: 10, windowSeconds: 60 }, { name: 'a', pathPrefix: '/b/', limit: 10, windowSeconds: 60 }] } }, 'waf.rateLimits[1].name must be unique ("a" is used twice)'],
    ['rate limit name with a space', { waf: { rateLimits: [{ name: 'my api', pathPrefix: '/api/', limit: 10, windowSeconds: 60 }] } }, 'waf.rateLimits[0].name must be a name of 1–64 letters, digits, - and _'],
    ['rate limit prefix without a slash', { waf: { rateLimits: [{ name: 'api', pathPrefix: 'api/', limit: 10, windowSeconds: 60 }] } }, 'waf.rateLimits[0].pathPrefix must be a path prefix starting with /'],
    ['eleven path rate limits', { waf: { rateLimits: Array.from({ length: 11 }, (_, i) => ({ name: `p${i}`, pathPrefix: `/p${i}/`, limit: 10, windowSeconds: 60 as const })) } }, 'waf.rateLimits must be a list of at most 10 limits'],
    ['body limit beyond what WAF can express', { waf: { maxBodyBytes: 2 ** 53 } }, 'waf.maxBodyBytes must be an integer from 0 to 9007199254740991 (got 9007199254740992)'],
    ['negative body limit', { waf: { maxBodyBytes: -1 } }, 'waf.maxBodyBytes must be an integer from 0 to 9007199254740991 (got -1)'],
    ['fractional body limit', { waf: { maxBodyBytes: 1.5 } }, 'waf.maxBodyBytes must be an integer from 0 to 9007199254740991 (got 1.5)'],
    ['a setting of the old WAF config', { waf: { rateLimitPer5Minutes: 2000 } as object }, 'waf.rateLimitPer5Minutes was replaced by waf.generalRateLimit'],
    ['malformed certificate ARN', { certificateArn: 'arn:aws:iam::123456789012:role/x' }, 'certificateArn must be an ACM certificate ARN'],
    ['one AZ', { env: { availabilityZones: ['eu-west-1a'] } }, 'env.availabilityZones must list at least 2'],
    ['AZ of another region', { env: { availabilityZones: ['eu-west-1a', 'us-east-1a'] } }, 'env.availabilityZones[1] must be a zone of eu-west-1'],
    ['idle timeout 0', { loadBalancer: { idleTimeoutSeconds: 0 } }, 'loadBalancer.idleTimeoutSeconds must be an integer from 1 to 4000 (got 0)'],
    ['old TLS policy', { loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-2016-08' } }, 'loadBalancer.tlsPolicy must be one of "ELBSecurityPolicy-TLS13-1-2-2021-06"'],
    ['desync monitor', { loadBalancer: { desyncMitigationMode: 'monitor' as 'defensive' } }, 'loadBalancer.desyncMitigationMode must be one of "defensive", "strictest"'],
    ['timeout not below interval', { targetGroups: { app: { healthCheck: { intervalSeconds: 10, timeoutSeconds: 10 } } } }, 'targetGroups.app.healthCheck.timeoutSeconds must be less than targetGroups.app.healthCheck.intervalSeconds (10 >= 10)'],
    ['interval too short', { targetGroups: { app: { healthCheck: { intervalSeconds: 4, timeoutSeconds: 2 } } } }, 'targetGroups.app.healthCheck.intervalSeconds must be an integer from 5 to 300 (got 4)'],
    ['healthy threshold 1', { targetGroups: { app: { healthCheck: { healthyThreshold: 1 } } } }, 'targetGroups.app.healthCheck.healthyThreshold must be an integer from 2 to 10 (got 1)'],
    ['matcher text', { targetGroups: { app: { healthCheck: { matcher: 'ok' } } } }, 'targetGroups.app.healthCheck.matcher must be HTTP codes like 200, 200,204 or 200-299'],
    ['matcher 500', { targetGroups: { app: { healthCheck: { matcher: '200,500' } } } }, 'targetGroups.app.healthCheck.matcher codes must be from 200 to 499 (got 500)'],
    ['health path without slash', { targetGroups: { app: { healthCheck: { path: 'health' } } } }, 'targetGroups.app.healthCheck.path must be a path starting with /'],
    ['deregistration delay 3601', { targetGroups: { app: { deregistrationDelaySeconds: 3601 } } }, 'targetGroups.app.deregistrationDelaySeconds must be an integer from 0 to 3600 (got 3601)'],
    ['slow start 10', { targetGroups: { app: { slowStartSeconds: 10 } } }, 'targetGroups.app.slowStartSeconds must be 0 (off) or an integer from 30 to 900 (got 10)'],
    ['slow start 901', { targetGroups: { app: { slowStartSeconds: 901 } } }, 'targetGroups.app.slowStartSeconds must be 0 (off) or an integer from 30 to 900 (got 901)'],
    ['slow start with weighted random', { targetGroups: { app: { algorithm: 'weighted_random', slowStartSeconds: 60 } } }, 'targetGroups.app.slowStartSeconds can only be used with algorithm "round_robin"'],
    ['anomaly mitigation with round robin', { targetGroups: { app: { anomalyMitigation: true } } }, 'targetGroups.app.anomalyMitigation requires algorithm "weighted_random"'],
    ['unknown algorithm', { targetGroups: { app: { algorithm: 'random' as 'round_robin' } } }, 'targetGroups.app.algorithm must be one of "round_robin", "least_outstanding_requests", "weighted_random"'],
    ['stickiness 8 days', { targetGroups: { static: { stickinessSeconds: 691200 } } }, 'targetGroups.static.stickinessSeconds must be an integer from 1 to 604800 (got 691200)'],
    ['CPU target 0', { scaling: { cpuTargetPercent: 0 } }, 'scaling.cpuTargetPercent must be an integer from 1 to 100 (got 0)'],
    ['CPU target 101', { scaling: { cpuTargetPercent: 101 } }, 'scaling.cpuTargetPercent must be an integer from 1 to 100 (got 101)'],
    ['min capacity 1', { capacity: { minCapacity: 1 } }, 'capacity.minCapacity must be an integer from 2 to 1000 (got 1)'],
    ['desired above max', { capacity: { desiredCapacity: 11 } }, 'capacity.desiredCapacity must be an integer from 2 to 10 (got 11)'],
    ['heartbeat 10 s', { capacity: { lifecycleHeartbeatSeconds: 10 } }, 'capacity.lifecycleHeartbeatSeconds must be an integer from 90 to 7200 (got 10)'],
    ['heartbeat too short for a drain run', { capacity: { lifecycleHeartbeatSeconds: 60 } }, 'capacity.lifecycleHeartbeatSeconds must be an integer from 90 to 7200 (got 60)'],
    ['rule to unknown group', { rules: [{ priority: 1, pathPatterns: ['/x/*'], action: { forward: 'nope' } }] }, 'rules[0].action.forward must name a target group'],
    ['duplicate priority', { rules: [{ priority: 1, pathPatterns: ['/a'], action: { forward: 'api' } }, { priority: 1, pathPatterns: ['/b'], action: { forward: 'static' } }] }, 'rules[1].priority must be unique'],
    ['fixed response 302', { rules: [{ priority: 1, pathPatterns: ['/a'], action: { fixedResponse: { statusCode: 302, contentType: 'text/plain', body: '' } } }] }, 'rules[0].action.fixedResponse.statusCode must be a 2XX, 4XX or 5XX code'],
    ['fixed response body too long', { rules: [{ priority: 1, pathPatterns: ['/a'], action: { fixedResponse: { statusCode: 200, contentType: 'text/plain', body: 'x'.repeat(1025) } } }] }, 'rules[0].action.fixedResponse.body must be a string of at most 1024 bytes'],
    ['unused target group', { rules: [] }, 'targetGroups.api is not used'],
    ['5xx rate 0', { alarms: { target5xxRatePercent: 0 } }, 'alarms.target5xxRatePercent must be a number above 0 and at most 100 (got 0)'],
    ['TLS 1.3 policy that still accepts TLS 1.0', { loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-0-2021-06' } }, 'loadBalancer.tlsPolicy must be one of'],
    ['TLS 1.3 policy that still accepts TLS 1.1', { loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-1-2021-06' } }, 'loadBalancer.tlsPolicy must be one of'],
    ['certificate of another region', { certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000' }, "certificateArn must be a certificate in env.region eu-west-1 (the ARN's region is us-east-1)"],
    ['certificate of another account', { env: { account: '111122223333' } }, "certificateArn must be a certificate in env.account 111122223333 (the ARN's account is 123456789012)"],
    ['deregistration delay -1', { targetGroups: { app: { deregistrationDelaySeconds: -1 } } }, 'targetGroups.app.deregistrationDelaySeconds must be an integer from 0 to 3600 (got -1)'],
    ['thirteen target groups', { targetGroups: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`g${i}`, {}])) }, 'targetGroups must define 1 to 9 target groups (got 13)'],
    ['service grace period 7201', { service: { healthCheckGracePeriodSeconds: 7201 } }, 'service.healthCheckGracePeriodSeconds must be an integer from 0 to 7200 (got 7201)'],
    ['container log retention 31 days', { service: { logRetentionDays: 31 } }, 'service.logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90'],
    ['flow log retention 2 days', { network: { flowLogRetentionDays: 2 } }, 'network.flowLogRetentionDays must be one of 1, 3, 5'],
    ['alarm period 90 s', { alarms: { periodSeconds: 90 } }, 'alarms.periodSeconds must be a multiple of 60 from 60 to 86400 (got 90)'],
    ['alarm window over a day', { alarms: { periodSeconds: 3600, evaluationPeriods: 25, datapointsToAlarm: 2 } }, 'alarms.evaluationPeriods × alarms.periodSeconds must be at most 86400 seconds, a CloudWatch limit (got 25 × 3600)'],
    ['more datapoints than periods', { alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } }, 'alarms.datapointsToAlarm must be an integer from 1 to 2 (got 3)'],
    ['path patterns that are a string', { rules: [{ priority: 1, pathPatterns: '/a' as unknown as string[], action: { forward: 'api' } }] }, 'rules[0].pathPatterns must list 1 to 5 patterns (got "/a")'],
    ['string where a number belongs', { loadBalancer: { idleTimeoutSeconds: '60' as unknown as number } }, 'loadBalancer.idleTimeoutSeconds must be an integer from 1 to 4000 (got "60")'],
  ])('%s', (_name, partial, expected) => {
    expect(problems(partial).join('\n')).toContain(expected);
  });

  test.each<[string, object, string]>([
    ['a misspelled key', { loadBalancer: { idleTimeoutSecond: 5 } }, 'loadBalancer.idleTimeoutSecond is not a known setting; did you mean loadBalancer.idleTimeoutSeconds?'],
    ['a misspelled section', { loadBalancers: { idleTimeoutSeconds: 5 } }, 'loadBalancers is not a known setting; did you mean loadBalancer?'],
    ['a misspelled key deep down', { targetGroups: { app: { healthCheck: { intervalSecond: 10 } } } }, 'targetGroups.app.healthCheck.intervalSecond is not a known setting; did you mean targetGroups.app.healthCheck.intervalSeconds?'],
    ['a misspelled key in a list entry', { waf: { rateLimits: [{ name: 'api', pathPrefix: '/api/', limit: 100, windowSeconds: 60, nam: 'x' }] } }, 'waf.rateLimits[0].nam is not a known setting; did you mean waf.rateLimits[0].name?'],
    ['a misspelled rule action', { rules: [{ priority: 1, pathPatterns: ['/a'], action: { forwrd: 'api' } }] }, 'rules[0].action.forwrd is not a known setting; did you mean rules[0].action.forward?'],
    ['a key like no known one', { loadBalancer: { colour: 'blue' } }, 'loadBalancer.colour is not a known setting (known in loadBalancer: deletionProtection, idleTimeoutSeconds, tlsPolicy, desyncMitigationMode, httpsPort, httpPort, accessLogRetentionDays, securityHeaders)'],
  ])('an unknown key names its path and the nearest known key: %s', (_name, partial, expected) => {
    expect(problems(partial)).toEqual([expected]);
  });

  test.each<[string, object, string]>([
    ['a section that is a number', { loadBalancer: 5 }, 'loadBalancer must be an object { deletionProtection, idleTimeoutSeconds, tlsPolicy, desyncMitigationMode, httpsPort, httpPort, accessLogRetentionDays, securityHeaders } (got 5)'],
    ['a null rule', { rules: [null] }, 'rules[0] must be an object { priority, pathPatterns, action } (got null)'],
    ['a null health check', { targetGroups: { app: { healthCheck: null } } }, 'targetGroups.app.healthCheck must be an object { path, intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold, matcher } (got null)'],
    ['rules that are no list', { rules: { priority: 1 } }, 'rules must be a list of rules (got {"priority":1})'],
    ['target groups that are no object', { targetGroups: 5 }, 'targetGroups must be an object of target groups by name (got 5)'],
    ['a target group that is a string', { targetGroups: { app: 'round_robin' } }, 'targetGroups.app must be an object { healthCheck, deregistrationDelaySeconds, slowStartSeconds, algorithm, anomalyMitigation, stickinessSeconds } (got "round_robin")'],
    ['a null environment', { env: null }, 'env must be an object { account, region, availabilityZones } (got null)'],
    ['an action that is a string', { rules: [{ priority: 1, pathPatterns: ['/a'], action: 'api' }] }, 'rules[0].action must be { "forward": "<target group>" } or { "fixedResponse": { statusCode, contentType, body } } (got "api")'],
    ['an action with neither key', { rules: [{ priority: 1, pathPatterns: ['/a'], action: {} }] }, 'rules[0].action must be { "forward": "<target group>" } or { "fixedResponse": { statusCode, contentType, body } }'],
  ])('a wrong shape is one problem naming the path and the shape expected: %s', (_name, partial, expected) => {
    expect(problems(partial)).toEqual([expected]);
  });

  test('a list entry of a wrong shape (here a required key misspelled) lists the unknown key and the missing one', () => {
    expect(problems({ waf: { rateLimits: [{ name: 'api', pathPrefix: '/api/', limit: 100, windowSecond: 60 }] as never } })).toEqual([
      'waf.rateLimits[0].windowSeconds must be one of 60, 120, 300, 600 (got nothing)',
      'waf.rateLimits[0].windowSecond is not a known setting; did you mean waf.rateLimits[0].windowSeconds?',
    ]);
  });

  test('every problem is listed at once: unknown keys, wrong shapes, ranges and cross-section rules together', () => {
    const listed = problems({
      certificateArn: '',
      loadBalancer: { idleTimeoutSecond: 5 } as object,
      targetGroups: { app: { healthCheck: null as unknown as object } },
      capacity: { minCapacity: 1.5 },
      scaling: { cpuTargetPercent: 0 },
    });
    expect([...listed].sort()).toEqual(
      [
        'loadBalancer.idleTimeoutSecond is not a known setting; did you mean loadBalancer.idleTimeoutSeconds?',
        'targetGroups.app.healthCheck must be an object { path, intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold, matcher } (got null)',
        'capacity.minCapacity must be an integer from 2 to 1000 (got 1.5)',
        'scaling.cpuTargetPercent must be an integer from 1 to 100 (got 0)',
        'certificateArn or domain is required: pass the ARN of an ACM certificate (`-c albatross.certificateArn=arn:aws:acm:REGION:ACCOUNT:certificate/ID`) or a domain { name, hostedZoneId, hostedZoneName }',
      ].sort(),
    );
  });

  test('a rule between fields is not run on a field that is itself wrong, so no echo of its problem is listed', () => {
    // desiredCapacity's range is min..max: a wrong minCapacity yields its own problem only.
    expect(problems({ capacity: { minCapacity: 'two' as unknown as number } })).toEqual(['capacity.minCapacity must be an integer from 2 to 1000 (got "two")']);
    // A rule that forwards to a group is checked against the groups even when a group has a problem of its own.
    // (A fraction on purpose: zod's own int() check aborts the whole parse's rules on one.)
    expect(problems({ targetGroups: { app: { deregistrationDelaySeconds: 0.5 } }, rules: [{ priority: 1, pathPatterns: ['/a'], action: { forward: 'nope' } }] })).toEqual([
      'targetGroups.app.deregistrationDelaySeconds must be an integer from 0 to 3600 (got 0.5)',
      'rules[0].action.forward must name a target group (app, api, static; got "nope")',
      'targetGroups.api is not used: forward to it from a rule or make it service.defaultTargetGroup (or remove it with null)',
      'targetGroups.static is not used: forward to it from a rule or make it service.defaultTargetGroup (or remove it with null)',
    ]);
  });

  test('every problem is reported at once, one per line', () => {
    const error = (() => {
      try {
        buildConfig({ certificateArn: '', scaling: { cpuTargetPercent: 0 } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems).toHaveLength(2);
    expect(error.message.split('\n')).toHaveLength(3);
  });
});
