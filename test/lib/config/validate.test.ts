import { buildConfig, ConfigError, ConfigOverrides, DEFAULT_CONFIG } from '../../../lib/config';
import { TEST_CERTIFICATE_ARN } from '../../support/stack';

/** The problems `buildConfig` reports for a partial config over the defaults. */
function problems(partial: ConfigOverrides): string[] {
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
    expect(config.services.web.healthCheck).toEqual({ path: '/health', intervalSeconds: 30, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' });
    expect(config.services.web.deregistrationDelaySeconds).toBe(30);
    expect(config.capacity).toMatchObject({ minCapacity: 2, maxCapacity: 10, desiredCapacity: 2 });
    expect(config.services.web.scaling.cpuTargetPercent).toBe(70);
  });

  test('a partial service keeps the defaults of the fields it leaves out', () => {
    const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, services: { api: { deregistrationDelaySeconds: 5, scaling: { requestsPerTarget: 200 } } } });
    expect(config.services.api.deregistrationDelaySeconds).toBe(5);
    expect(config.services.api.algorithm).toBe('least_outstanding_requests');
    expect(config.services.api.healthCheck.path).toBe('/health');
    expect(config.services.api.scaling).toEqual({ cpuTargetPercent: 70, requestsPerTarget: 200, scaleInCooldownSeconds: 300, scaleOutCooldownSeconds: 60 });
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

  test('null unsets an optional setting that has a default, such as the web service\'s stickiness', () => {
    const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, services: { web: { stickinessSeconds: null } }, alarms: { email: null } });
    expect(config.services.web.stickinessSeconds).toBeUndefined();
    expect(config.services.web.algorithm).toBe('round_robin');
    expect(config.alarms.email).toBeUndefined();
  });

  test('does not mutate the defaults', () => {
    buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, loadBalancer: { idleTimeoutSeconds: 99 } });
    expect(DEFAULT_CONFIG.loadBalancer.idleTimeoutSeconds).toBe(60);
  });
});

describe('bad input fails with the field name and the allowed range', () => {
  test.each<[string, ConfigOverrides, string]>([
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
    ['timeout not below interval', { services: { web: { healthCheck: { intervalSeconds: 10, timeoutSeconds: 10 } } } }, 'services.web.healthCheck.timeoutSeconds must be less than services.web.healthCheck.intervalSeconds (10 >= 10)'],
    ['interval too short', { services: { web: { healthCheck: { intervalSeconds: 4, timeoutSeconds: 2 } } } }, 'services.web.healthCheck.intervalSeconds must be an integer from 5 to 300 (got 4)'],
    ['healthy threshold 1', { services: { web: { healthCheck: { healthyThreshold: 1 } } } }, 'services.web.healthCheck.healthyThreshold must be an integer from 2 to 10 (got 1)'],
    ['matcher text', { services: { web: { healthCheck: { matcher: 'ok' } } } }, 'services.web.healthCheck.matcher must be HTTP codes like 200, 200,204 or 200-299'],
    ['matcher 500', { services: { web: { healthCheck: { matcher: '200,500' } } } }, 'services.web.healthCheck.matcher codes must be from 200 to 499 (got 500)'],
    ['health path without slash', { services: { web: { healthCheck: { path: 'health' } } } }, 'services.web.healthCheck.path must be a path starting with /'],
    ['deregistration delay 3601', { services: { web: { deregistrationDelaySeconds: 3601 } } }, 'services.web.deregistrationDelaySeconds must be an integer from 0 to 3600 (got 3601)'],
    ['slow start 10', { services: { web: { slowStartSeconds: 10 } } }, 'services.web.slowStartSeconds must be 0 (off) or an integer from 30 to 900 (got 10)'],
    ['slow start 901', { services: { web: { slowStartSeconds: 901 } } }, 'services.web.slowStartSeconds must be 0 (off) or an integer from 30 to 900 (got 901)'],
    ['slow start with weighted random', { services: { web: { algorithm: 'weighted_random', slowStartSeconds: 60 } } }, 'services.web.slowStartSeconds can only be used with algorithm "round_robin"'],
    ['anomaly mitigation with round robin', { services: { web: { anomalyMitigation: true } } }, 'services.web.anomalyMitigation requires algorithm "weighted_random"'],
    ['unknown algorithm', { services: { web: { algorithm: 'random' as 'round_robin' } } }, 'services.web.algorithm must be one of "round_robin", "least_outstanding_requests", "weighted_random"'],
    ['stickiness 8 days', { services: { static: { stickinessSeconds: 691200 } } }, 'services.static.stickinessSeconds must be an integer from 1 to 604800 (got 691200)'],
    ['CPU target 0', { services: { api: { scaling: { cpuTargetPercent: 0 } } } }, 'services.api.scaling.cpuTargetPercent must be an integer from 1 to 100 (got 0)'],
    ['CPU target 101', { services: { api: { scaling: { cpuTargetPercent: 101 } } } }, 'services.api.scaling.cpuTargetPercent must be an integer from 1 to 100 (got 101)'],
    ['min capacity 1', { capacity: { minCapacity: 1 } }, 'capacity.minCapacity must be an integer from 2 to 1000 (got 1)'],
    ['desired above max', { capacity: { desiredCapacity: 11 } }, 'capacity.desiredCapacity must be an integer from 2 to 10 (got 11)'],
    ['heartbeat 10 s', { capacity: { lifecycleHeartbeatSeconds: 10 } }, 'capacity.lifecycleHeartbeatSeconds must be an integer from 90 to 7200 (got 10)'],
    ['heartbeat too short for a drain run', { capacity: { lifecycleHeartbeatSeconds: 60 } }, 'capacity.lifecycleHeartbeatSeconds must be an integer from 90 to 7200 (got 60)'],
    ['rule to unknown group', { rules: [{ priority: 1, conditions: { pathPatterns: ['/x/*'] }, action: { forward: 'nope' } }] }, 'rules[0].action.forward must name a service'],
    ['duplicate priority', { rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: { forward: 'api' } }, { priority: 1, conditions: { pathPatterns: ['/b'] }, action: { forward: 'static' } }] }, 'rules[1].priority must be unique'],
    ['fixed response 302', { rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: { fixedResponse: { statusCode: 302, contentType: 'text/plain', body: '' } } }] }, 'rules[0].action.fixedResponse.statusCode must be a 2XX, 4XX or 5XX code'],
    ['fixed response body too long', { rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: { fixedResponse: { statusCode: 200, contentType: 'text/plain', body: 'x'.repeat(1025) } } }] }, 'rules[0].action.fixedResponse.body must be a string of at most 1024 bytes'],
    ['unused service', { rules: [] }, 'services.api is not used'],
    ['5xx rate 0', { alarms: { target5xxRatePercent: 0 } }, 'alarms.target5xxRatePercent must be a number above 0 and at most 100 (got 0)'],
    ['TLS 1.3 policy that still accepts TLS 1.0', { loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-0-2021-06' } }, 'loadBalancer.tlsPolicy must be one of'],
    ['TLS 1.3 policy that still accepts TLS 1.1', { loadBalancer: { tlsPolicy: 'ELBSecurityPolicy-TLS13-1-1-2021-06' } }, 'loadBalancer.tlsPolicy must be one of'],
    ['certificate of another region', { certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-000000000000' }, "certificateArn must be a certificate in env.region eu-west-1 (the ARN's region is us-east-1)"],
    ['certificate of another account', { env: { account: '111122223333' } }, "certificateArn must be a certificate in env.account 111122223333 (the ARN's account is 123456789012)"],
    ['deregistration delay -1', { services: { web: { deregistrationDelaySeconds: -1 } } }, 'services.web.deregistrationDelaySeconds must be an integer from 0 to 3600 (got -1)'],
    ['twenty-four services', { services: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`g${i}`, {}])) }, 'services must define 1 to 23 services (got 24)'],
    ['service grace period 7201', { services: { web: { healthCheckGracePeriodSeconds: 7201 } } }, 'services.web.healthCheckGracePeriodSeconds must be an integer from 0 to 7200 (got 7201)'],
    ['container log retention 31 days', { services: { web: { logRetentionDays: 31 } } }, 'services.web.logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90'],
    ['flow log retention 2 days', { network: { flowLogRetentionDays: 2 } }, 'network.flowLogRetentionDays must be one of 1, 3, 5'],
    ['alarm period 90 s', { alarms: { periodSeconds: 90 } }, 'alarms.periodSeconds must be a multiple of 60 from 60 to 86400 (got 90)'],
    ['alarm window over a day', { alarms: { periodSeconds: 3600, evaluationPeriods: 25, datapointsToAlarm: 2 } }, 'alarms.evaluationPeriods × alarms.periodSeconds must be at most 86400 seconds, a CloudWatch limit (got 25 × 3600)'],
    ['more datapoints than periods', { alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } }, 'alarms.datapointsToAlarm must be an integer from 1 to 2 (got 3)'],
    ['path patterns that are a string', { rules: [{ priority: 1, conditions: { pathPatterns: '/a' as unknown as string[] }, action: { forward: 'api' } }] }, 'rules[0].conditions.pathPatterns must list 1 to 3 path patterns (got "/a")'],
    ['string where a number belongs', { loadBalancer: { idleTimeoutSeconds: '60' as unknown as number } }, 'loadBalancer.idleTimeoutSeconds must be an integer from 1 to 4000 (got "60")'],
  ])('%s', (_name, partial, expected) => {
    expect(problems(partial).join('\n')).toContain(expected);
  });

  test.each<[string, object, string]>([
    ['a misspelled key', { loadBalancer: { idleTimeoutSecond: 5 } }, 'loadBalancer.idleTimeoutSecond is not a known setting; did you mean loadBalancer.idleTimeoutSeconds?'],
    ['a misspelled section', { loadBalancers: { idleTimeoutSeconds: 5 } }, 'loadBalancers is not a known setting; did you mean loadBalancer?'],
    ['a misspelled key deep down', { services: { web: { healthCheck: { intervalSecond: 10 } } } }, 'services.web.healthCheck.intervalSecond is not a known setting; did you mean services.web.healthCheck.intervalSeconds?'],
    ['a misspelled key in a list entry', { waf: { rateLimits: [{ name: 'api', pathPrefix: '/api/', limit: 100, windowSeconds: 60, nam: 'x' }] } }, 'waf.rateLimits[0].nam is not a known setting; did you mean waf.rateLimits[0].name?'],
    ['a misspelled rule action', { rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: { forwrd: 'api' } }] }, 'rules[0].action.forwrd is not a known setting; did you mean rules[0].action.forward?'],
    ['a key like no known one', { loadBalancer: { colour: 'blue' } }, 'loadBalancer.colour is not a known setting (known in loadBalancer: deletionProtection, idleTimeoutSeconds, tlsPolicy, desyncMitigationMode, httpsPort, httpPort, accessLogRetentionDays, securityHeaders)'],
  ])('an unknown key names its path and the nearest known key: %s', (_name, partial, expected) => {
    expect(problems(partial)).toEqual([expected]);
  });

  test.each<[string, object, string]>([
    ['a section that is a number', { loadBalancer: 5 }, 'loadBalancer must be an object { deletionProtection, idleTimeoutSeconds, tlsPolicy, desyncMitigationMode, httpsPort, httpPort, accessLogRetentionDays, securityHeaders } (got 5)'],
    ['a null rule', { rules: [null] }, 'rules[0] must be an object { priority, conditions, action } (got null)'],
    ['a null health check', { services: { web: { healthCheck: null } } }, 'services.web.healthCheck must be an object { path, intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold, matcher } (got null)'],
    ['rules that are no list', { rules: { priority: 1 } }, 'rules must be a list of rules (got {"priority":1})'],
    ['services that are no object', { services: 5 }, 'services must be an object of services by name (got 5)'],
    ['a service that is a string', { services: { web: 'round_robin' } }, 'services.web must be an object { image, containerPort, memoryReservationMiB, cpu, desiredCount, maxCount, healthCheckGracePeriodSeconds, logRetentionDays, environment, healthCheck, deregistrationDelaySeconds, slowStartSeconds, algorithm, anomalyMitigation, stickinessSeconds, scaling } (got "round_robin")'],
    ['a null environment', { env: null }, 'env must be an object { account, region, availabilityZones } (got null)'],
    ['an action that is a string', { rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: 'api' }] }, 'rules[0].action must be { "forward": "<service>" | { "<service>": <weight>, … }, "groupStickinessSeconds"?: <s> } or { "fixedResponse": { statusCode, contentType, body } } (got "api")'],
    ['an action with neither key', { rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: {} }] }, 'rules[0].action must be { "forward": "<service>" | { "<service>": <weight>, … }, "groupStickinessSeconds"?: <s> } or { "fixedResponse": { statusCode, contentType, body } }'],
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
      services: { web: { healthCheck: null as unknown as object, scaling: { cpuTargetPercent: 0 } } },
      capacity: { minCapacity: 1.5 },
    });
    expect([...listed].sort()).toEqual(
      [
        'loadBalancer.idleTimeoutSecond is not a known setting; did you mean loadBalancer.idleTimeoutSeconds?',
        'services.web.healthCheck must be an object { path, intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold, matcher } (got null)',
        'capacity.minCapacity must be an integer from 2 to 1000 (got 1.5)',
        'services.web.scaling.cpuTargetPercent must be an integer from 1 to 100 (got 0)',
        'certificateArn or domain is required: pass the ARN of an ACM certificate (`-c albatross.certificateArn=arn:aws:acm:REGION:ACCOUNT:certificate/ID`) or a domain { name, hostedZoneId, hostedZoneName }',
      ].sort(),
    );
  });

  test('a rule between fields is not run on a field that is itself wrong, so no echo of its problem is listed', () => {
    // desiredCapacity's range is min..max: a wrong minCapacity yields its own problem only.
    expect(problems({ capacity: { minCapacity: 'two' as unknown as number } })).toEqual(['capacity.minCapacity must be an integer from 2 to 1000 (got "two")']);
    // A rule that forwards to a service is checked against the services even when a service has a problem of its own.
    // (A fraction on purpose: zod's own int() check aborts the whole parse's rules on one.)
    expect(problems({ services: { web: { deregistrationDelaySeconds: 0.5 } }, rules: [{ priority: 1, conditions: { pathPatterns: ['/a'] }, action: { forward: 'nope' } }] })).toEqual([
      'services.web.deregistrationDelaySeconds must be an integer from 0 to 3600 (got 0.5)',
      'rules[0].action.forward must name a service (web, web-canary, api, static; got "nope")',
      'services.api is not used: forward to it from defaultAction or a rule (or remove it with null)',
      'services.static is not used: forward to it from defaultAction or a rule (or remove it with null)',
    ]);
  });

  test('every problem is reported at once, one per line', () => {
    const error = (() => {
      try {
        buildConfig({ certificateArn: '', services: { web: { scaling: { cpuTargetPercent: 0 } } } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error.problems).toHaveLength(2);
    expect(error.message.split('\n')).toHaveLength(3);
  });
});

describe('services and routing', () => {
  const every = {
    pathPatterns: ['/v2/*'],
    hostHeaders: ['api.example.com'],
    httpHeaders: [{ name: 'X-Canary', values: ['on'] }],
    httpRequestMethods: ['GET'],
    queryStrings: [{ key: 'beta', value: '1' }],
  };

  test('the default layout: web sticky with a 10 % canary as the default action, api on its host name and path, static on its path', () => {
    const config = buildConfig({ certificateArn: TEST_CERTIFICATE_ARN });
    expect(Object.keys(config.services)).toEqual(['web', 'web-canary', 'api', 'static']);
    expect(config.services.web.stickinessSeconds).toBe(86400);
    expect(config.services.api.algorithm).toBe('least_outstanding_requests');
    expect(config.services['web-canary']).toMatchObject({ image: config.services.web.image, desiredCount: 1 });
    expect(config.defaultAction).toEqual({ forward: { web: 90, 'web-canary': 10 }, groupStickinessSeconds: 3600 });
    expect(config.rules.map((r) => [r.priority, r.conditions, 'forward' in r.action ? r.action.forward : 'fixed'])).toEqual([
      [5, { hostHeaders: ['api.*'] }, { api: 1 }],
      [10, { pathPatterns: ['/api/*'] }, { api: 1 }],
      [20, { pathPatterns: ['/static/*'] }, { static: 1 }],
      [30, { pathPatterns: ['/maintenance'] }, 'fixed'],
    ]);
  });

  test('host patterns the ALB takes: a name, a wildcard label, a wildcard after the last dot', () => {
    for (const host of ['api.example.com', '*.example.com', 'api.*', 'shop-?.example.co']) {
      expect([host, problems(rule({ hostHeaders: [host] })).filter((p) => p.includes('hostHeaders'))]).toEqual([host, []]);
    }
  });

  test('every condition type, a weighted forward with group stickiness, and a name forward that becomes weight 1', () => {
    const config = buildConfig({
      certificateArn: TEST_CERTIFICATE_ARN,
      rules: [
        { priority: 1, conditions: every, action: { forward: { api: 3, static: 1 }, groupStickinessSeconds: 600 } },
        { priority: 2, conditions: { sourceIps: ['192.0.2.0/24', '2001:db8::/32'] }, action: { forward: 'api' } },
        { priority: 3, conditions: { queryStrings: [{ value: 'x*' }] }, action: { forward: 'static' } },
      ],
    });
    expect(config.rules[0]).toEqual({ priority: 1, conditions: every, action: { forward: { api: 3, static: 1 }, groupStickinessSeconds: 600 } });
    expect(config.rules[1].action).toEqual({ forward: { api: 1 } });
    expect(config.rules[2].conditions).toEqual({ queryStrings: [{ value: 'x*' }] });
  });

  test('a new service starts from the default service; null removes a default one; the default action is replaced whole', () => {
    const config = buildConfig({
      certificateArn: TEST_CERTIFICATE_ARN,
      services: { 'web-canary': null, admin: { image: 'example/admin:1.0', environment: { LOG_LEVEL: 'debug' } } },
      defaultAction: { forward: 'web' },
      rules: [
        { priority: 1, conditions: { pathPatterns: ['/admin/*'] }, action: { forward: 'admin' } },
        { priority: 2, conditions: { pathPatterns: ['/api/*'] }, action: { forward: 'api' } },
        { priority: 3, conditions: { pathPatterns: ['/static/*'] }, action: { forward: 'static' } },
      ],
    });
    expect(Object.keys(config.services)).toEqual(['web', 'api', 'static', 'admin']);
    expect(config.services.admin).toMatchObject({ image: 'example/admin:1.0', algorithm: 'round_robin', desiredCount: 2, environment: { LOG_LEVEL: 'debug' } });
    expect(config.services.admin.stickinessSeconds).toBeUndefined();
    expect(config.defaultAction).toEqual({ forward: { web: 1 } });
  });

  test('a fixed response as the default action', () => {
    const config = buildConfig({
      certificateArn: TEST_CERTIFICATE_ARN,
      services: { 'web-canary': null, web: null },
      defaultAction: { fixedResponse: { statusCode: 404, contentType: 'text/plain', body: 'not here' } },
    });
    expect(config.defaultAction).toEqual({ fixedResponse: { statusCode: 404, contentType: 'text/plain', body: 'not here' } });
  });

  const rule = (conditions: object, action: object = { forward: 'api' }) => ({ rules: [{ priority: 1, conditions, action }] }) as ConfigOverrides;

  test.each<[string, ConfigOverrides, string]>([
    ['a weighted forward to an unknown service', rule({ pathPatterns: ['/a'] }, { forward: { api: 9, apii: 1 } }), 'rules[0].action.forward must name a service (web, web-canary, api, static; got "apii")'],
    ['a default action to a removed service', { services: { 'web-canary': null } }, 'defaultAction.forward must name a service (web, api, static; got "web-canary")'],
    ['six services in one forward', rule({ pathPatterns: ['/a'] }, { forward: { a: 1, b: 1, c: 1, d: 1, e: 1, f: 1 } }), "rules[0].action.forward must name 1 to 5 services, the ALB's limit per forward action (got 6)"],
    ['a forward of no services', rule({ pathPatterns: ['/a'] }, { forward: {} }), "rules[0].action.forward must name 1 to 5 services, the ALB's limit per forward action (got 0)"],
    ['weights all 0', rule({ pathPatterns: ['/a'] }, { forward: { api: 0, static: 0 } }), 'rules[0].action.forward must give at least one service a weight above 0'],
    ['weight 1000', { defaultAction: { forward: { web: 1000, 'web-canary': 1 } } }, 'defaultAction.forward.web must be an integer from 0 to 999 (got 1000)'],
    ['a weight that is a string', rule({ pathPatterns: ['/a'] }, { forward: { api: 'all' } }), 'rules[0].action.forward must be the name of a service or { "<service>": <weight 0–999>, … } (1 to 5 services) (got {"api":"all"})'],
    ['group stickiness 8 days', { defaultAction: { forward: { web: 1 }, groupStickinessSeconds: 691200 } }, 'defaultAction.groupStickinessSeconds must be an integer from 1 to 604800 (got 691200)'],
    ['group stickiness on a fixed response', rule({ pathPatterns: ['/a'] }, { fixedResponse: { statusCode: 404, contentType: 'text/plain', body: '' }, groupStickinessSeconds: 60 }), 'rules[0].action.groupStickinessSeconds can only be set with forward'],
    ['a rule without conditions', rule({}), 'rules[0].conditions must set at least one of pathPatterns, hostHeaders, httpHeaders, httpRequestMethods, queryStrings, sourceIps'],
    ['six values in one rule', rule({ pathPatterns: ['/a', '/b', '/c'], hostHeaders: ['a.example', 'b.example'], httpRequestMethods: ['GET'] }), "rules[0].conditions must list at most 5 values over all conditions, the ALB's limit per rule (got 6)"],
    ['header values count towards the rule', rule({ httpHeaders: [{ name: 'X-A', values: ['1', '2', '3'] }, { name: 'X-B', values: ['1', '2', '3'] }] }), "rules[0].conditions must list at most 5 values over all conditions, the ALB's limit per rule (got 6)"],
    ['four values in one condition', rule({ hostHeaders: ['a.example', 'b.example', 'c.example', 'd.example'] }), 'rules[0].conditions.hostHeaders must list 1 to 3 host names (got ["a.example","b.example","c.example","d.example"])'],
    ['six wildcards in one rule', rule({ pathPatterns: ['/*/*/*/*'], hostHeaders: ['*.*.example'] }), "rules[0].conditions must use at most 5 wildcards (* and ?) over all conditions, the ALB's limit per rule (got 6)"],
    ['a host with a space', rule({ hostHeaders: ['api example'] }), 'rules[0].conditions.hostHeaders[0] must be a host name of letters, digits, -, . and * or ? wildcards, with a . and only letters or wildcards after the last one (got "api example")'],
    ['a host without a dot', rule({ hostHeaders: ['localhost'] }), 'rules[0].conditions.hostHeaders[0] must be a host name of letters, digits, -, . and * or ? wildcards, with a . and only letters or wildcards after the last one (got "localhost")'],
    ['a host ending in a digit', rule({ hostHeaders: ['example.com1'] }), 'rules[0].conditions.hostHeaders[0] must be a host name'],
    ['a host of 129 characters', rule({ hostHeaders: [`${'a'.repeat(125)}.com`] }), 'rules[0].conditions.hostHeaders[0] must be a host name'],
    ['a header name with a colon', rule({ httpHeaders: [{ name: 'X-A:', values: ['1'] }] }), 'rules[0].conditions.httpHeaders[0].name must be an HTTP header name of at most 40 token characters (got "X-A:")'],
    ['a header value with a control character', rule({ httpHeaders: [{ name: 'X-A', values: ['a\u0001b'] }] }), 'rules[0].conditions.httpHeaders[0].values[0] must be a header value of at most 128 printable characters'],
    ['a lower-case method', rule({ httpRequestMethods: ['get'] }), 'rules[0].conditions.httpRequestMethods[0] must be a request method of upper-case letters, - or _ (got "get")'],
    ['a query value with &', rule({ queryStrings: [{ key: 'a', value: '1&b=2' }] }), 'rules[0].conditions.queryStrings[0].value must be a query value of at most 128 printable characters without & or spaces (got "1&b=2")'],
    ['a source IP without a prefix', rule({ sourceIps: ['192.0.2.1'] }), 'rules[0].conditions.sourceIps[0] must be an IPv4 or IPv6 CIDR block such as 192.0.2.0/24 or 2001:db8::/32 (got "192.0.2.1")'],
    ['an IPv4 prefix of 33', rule({ sourceIps: ['192.0.2.0/33'] }), 'rules[0].conditions.sourceIps[0] must be an IPv4 or IPv6 CIDR block'],
    ['an IPv6 prefix of 129', rule({ sourceIps: ['2001:db8::/129'] }), 'rules[0].conditions.sourceIps[0] must be an IPv4 or IPv6 CIDR block'],
    ['a misspelled condition', rule({ hostHeader: ['a.example'] }), 'rules[0].conditions.hostHeader is not a known setting; did you mean rules[0].conditions.hostHeaders?'],
    ['101 rules', { rules: Array.from({ length: 101 }, (_, i) => ({ priority: i + 1, conditions: { pathPatterns: [`/p${i}`] }, action: { forward: 'api' } })) }, "rules must hold at most 100 rules, the ALB's limit per load balancer (got 101)"],
    ['priority 50001', { rules: [{ priority: 50001, conditions: { pathPatterns: ['/a'] }, action: { forward: 'api' } }] }, 'rules[0].priority must be an integer from 1 to 50000 (got 50001)'],
    ['an environment variable name with a dash', { services: { web: { environment: { 'LOG-LEVEL': 'debug' } } } }, 'services.web.environment.LOG-LEVEL is not a valid variable name: letters, digits and _, not starting with a digit'],
    ['an environment value that is a number', { services: { web: { environment: { PORT: 8080 as unknown as string } } } }, 'services.web.environment.PORT must be a string (got 8080); write numbers and flags in quotes'],
    ['a service name with capitals', { services: { Admin: {} } }, 'services.Admin name must be lower-case letters, digits and dashes'],
    ['a service nothing forwards to', { services: { admin: {} } }, 'services.admin is not used: forward to it from defaultAction or a rule (or remove it with null)'],
    ['slow start on the least-outstanding-requests service', { services: { api: { slowStartSeconds: 60 } } }, 'services.api.slowStartSeconds can only be used with algorithm "round_robin" (algorithm is "least_outstanding_requests")'],
    ['max tasks below desired', { services: { api: { desiredCount: 5, maxCount: 3 } } }, 'services.api.maxCount must be an integer from 5 to 1000 (got 3)'],
  ])('%s', (_name, partial, expected) => {
    expect(problems(partial).join('\n')).toContain(expected);
  });

  test.each<[string, object, string]>([
    ['service', { service: { image: 'my/app:1' } }, 'service was replaced by services.<name>: move image, containerPort'],
    ['targetGroups', { targetGroups: { app: {} } }, "targetGroups was replaced by services.<name>: move each group's healthCheck"],
    ['scaling', { scaling: { cpuTargetPercent: 50 } }, 'scaling was replaced by services.<name>: move cpuTargetPercent, requestsPerTarget and the cooldowns into services.<name>.scaling'],
    ['rules[].pathPatterns', { rules: [{ priority: 1, pathPatterns: ['/a'], action: { forward: 'api' } }] }, 'rules[0].pathPatterns moved into rules[0].conditions.pathPatterns'],
  ])('the single-service shape fails with how to migrate: %s', (_name, partial, expected) => {
    expect(problems(partial).join('\n')).toContain(expected);
  });
});
