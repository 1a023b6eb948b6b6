/** CloudWatch alarm thresholds, and where alarms go. */

import { z } from 'zod';
import { report, whenValid } from './checks';
import { flag, integer, matching, percent, says, section, Settings, unsettable, wholeNumber } from './fields';

/** CloudWatch: evaluationPeriods × period must not exceed one day. */
const MAX_ALARM_WINDOW_SECONDS = 86_400;
/** One @, no spaces, a dotted domain: what SNS accepts, without trying to be RFC 5322. */
const EMAIL = /^[^\s@]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

const periodParams = says((got) => `must be a multiple of 60 from 60 to ${MAX_ALARM_WINDOW_SECONDS} (got ${got})`);

/** CloudWatch alarm thresholds. */
export const alarmsSchema = section({
  /** Target 5xx responses as a percentage of the requests routed to targets, above 0 and at most 100. @default 1 */
  target5xxRatePercent: percent(),
  /** p95 target response time in milliseconds, 1–60000. @default 500 */
  p95LatencyMs: integer(1, 60_000),
  /** Period of the alarms and of the dashboard's graphs, 60 or a multiple of 60 seconds, at most a day. @default 60 */
  periodSeconds: wholeNumber(periodParams).min(60, periodParams).max(MAX_ALARM_WINDOW_SECONDS, periodParams).multipleOf(60, periodParams),
  /**
   * Periods an alarm looks back over, 1–1440; `evaluationPeriods × periodSeconds` is at most one
   * day (a CloudWatch limit).
   * @default 3
   */
  evaluationPeriods: integer(1, MAX_ALARM_WINDOW_SECONDS / 60),
  /** Breaching periods among them that raise the alarm, 1–evaluationPeriods. @default 2 */
  datapointsToAlarm: integer(1, MAX_ALARM_WINDOW_SECONDS / 60),
  /**
   * 5xx responses the load balancer generated itself (502, 503, 504, …) as a percentage of all
   * requests, above 0 and at most 100.
   * @default 1
   */
  elb5xxRatePercent: percent(),
  /**
   * Roll an ECS deploy back when it raises the target or load-balancer 5xx-rate or the p95 latency
   * alarm (ECS deployment alarms). A fix deployed while one of them is already in alarm can be
   * rolled back too: deploy it with this set to false.
   * @default true
   */
  rollbackOnAlarm: flag(),
  /**
   * An e-mail address subscribed to the alarm topic (AWS asks it to confirm first).
   * @default - no subscription: subscribe your pager or chat to the topic yourself
   */
  email: unsettable(matching(EMAIL, 'an e-mail address such as oncall@example.com')),
})
  .superRefine((a, ctx) => {
    if (a.datapointsToAlarm > a.evaluationPeriods) report(ctx, ['datapointsToAlarm'], `must be an integer from 1 to ${a.evaluationPeriods} (got ${a.datapointsToAlarm})`);
  }, whenValid(['datapointsToAlarm'], ['evaluationPeriods']))
  .superRefine((a, ctx) => {
    if (a.evaluationPeriods * a.periodSeconds > MAX_ALARM_WINDOW_SECONDS) {
      report(
        ctx,
        ['evaluationPeriods'],
        (at) => `× ${at('periodSeconds')} must be at most ${MAX_ALARM_WINDOW_SECONDS} seconds, a CloudWatch limit (got ${a.evaluationPeriods} × ${a.periodSeconds})`,
      );
    }
  }, whenValid(['evaluationPeriods'], ['periodSeconds']));

export type AlarmsConfig = Settings<z.output<typeof alarmsSchema>>;
