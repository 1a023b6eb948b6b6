import { formatTargetId } from '../alb/target-id';
import { TARGETS_REPORT_PATH, TargetsReport } from '../alb/targets-report';
import { Registration } from './registrations';
import { adminAuthorization } from './admin-token';

/**
 * An instance-side signal that a deregistered target has finished its requests. The API keeps
 * saying `draining` for the whole delay even when the ALB finished early (docs/alb-behaviour.md
 * §13), so only a signal like this can end a drain before the delay.
 * Returns the requests in flight, or undefined when it cannot tell.
 */
export type InFlightProbe = (registration: Registration) => Promise<number | undefined>;

const PROBE_TIMEOUT_MS = 1000;

/**
 * The local proxy's admin API (`GET <url>/targets`, lib/alb/targets-report.ts): true in-flight
 * counts per target. Target groups there are named `targetgroup/<name>/…` in their ARNs, as the
 * proxy's ELBv2 API reports them.
 */
export function proxyAdminInFlight(adminUrl: string, fetchImpl: typeof fetch = fetch, adminToken?: string): InFlightProbe {
  const headers = adminToken ? { authorization: adminAuthorization(adminToken) } : undefined;
  return async (registration) => {
    try {
      // Bounded: a hung admin API must not stall the polling pass (the API signals still apply).
      const response = await fetchImpl(`${adminUrl.replace(/\/$/, '')}${TARGETS_REPORT_PATH}`, { headers, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      if (!response.ok) return undefined;
      const report = (await response.json()) as TargetsReport;
      const id = formatTargetId({ host: registration.id, port: registration.port });
      for (const group of report.targetGroups) {
        if (registration.targetGroupName !== group.name) continue;
        // A target the report does not list is unknown, not idle: only a count it gives can end a drain.
        return group.targets.find((t) => t.id === id)?.inFlight;
      }
      return undefined;
    } catch {
      return undefined;
    }
  };
}
