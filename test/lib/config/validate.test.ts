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

  test('does not mutate the defaults', () => {
    buildConfig({ certificateArn: TEST_CERTIFICATE_ARN, loadBalancer: { idleTimeoutSeconds: 99 } });
    expect(DEFAULT_CONFIG.loadBalancer.idleTimeoutSeconds).toBe(60);
  });
});

describe('bad input fails with the field name and the allowed range', () => {
  test.each<[string, DeepPartial<AlbatrossConfig>, string]>([
    ['missing certificate', { certificateArn: '' }, 'certificateArn is required'],
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
    ['WAF limit 5', { waf: { rateLimitPer5Minutes: 5 } }, 'waf.rateLimitPer5Minutes must be an integer from 10 to 2000000000 (got 5)'],
    ['auth limit above general', { waf: { authRateLimitPer5Minutes: 5000 } }, 'waf.authRateLimitPer5Minutes must not exceed waf.rateLimitPer5Minutes (2000)'],
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
    ['string where a number belongs', { loadBalancer: { idleTimeoutSeconds: '60' as unknown as number } }, 'loadBalancer.idleTimeoutSeconds must be an integer from 1 to 4000 (got "60")'],
  ])('%s', (_name, partial, expected) => {
    expect(problems(partial).join('\n')).toContain(expected);
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
