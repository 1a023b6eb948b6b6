/**
 * lb_cookie stickiness: the `AWSALB` cookie (and `AWSALBCORS`, the same value with
 * `SameSite=None; Secure` for cross-origin requests) names the target with an opaque token. The
 * token is an HMAC of the group and target under a per-process key, so a client cannot forge a
 * cookie that picks a target of its choosing; only tokens this process issued map to a target.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { GROUP_STICKY_COOKIE, GROUP_STICKY_CORS_COOKIE, STICKY_COOKIE, STICKY_CORS_COOKIE } from '../alb/stickiness-cookies';

export { GROUP_STICKY_COOKIE, GROUP_STICKY_CORS_COOKIE, STICKY_COOKIE, STICKY_CORS_COOKIE };

/** The cookie pair of a kind of stickiness: the plain one and its cross-origin copy. */
export interface StickyCookieNames {
  readonly cookie: string;
  readonly corsCookie: string;
}

const TARGET_COOKIES: StickyCookieNames = { cookie: STICKY_COOKIE, corsCookie: STICKY_CORS_COOKIE };
export const GROUP_COOKIES: StickyCookieNames = { cookie: GROUP_STICKY_COOKIE, corsCookie: GROUP_STICKY_CORS_COOKIE };

interface CookiePair {
  readonly second: number;
  readonly values: readonly [string, string];
}

export class StickyCookies<T> {
  private readonly byToken = new Map<string, T>();
  private readonly tokenOf = new Map<T, string>();
  private readonly cached = new Map<T, CookiePair>();

  constructor(
    private readonly groupId: string,
    private readonly durationSeconds: number,
    private readonly key: Buffer = randomBytes(32),
    readonly names: StickyCookieNames = TARGET_COOKIES,
  ) {}

  /** Issues (once) the token of a target. */
  add(target: T, targetId: string): void {
    const token = createHmac('sha256', this.key).update(`${this.groupId}\n${targetId}`).digest('base64url');
    this.byToken.set(token, target);
    this.tokenOf.set(target, token);
  }

  remove(target: T): void {
    const token = this.tokenOf.get(target);
    if (token !== undefined) this.byToken.delete(token);
    this.tokenOf.delete(target);
    this.cached.delete(target);
  }

  /** The target a cookie value names, if this process issued it for a target still in the group. */
  lookup(cookieValue: string | undefined): T | undefined {
    return cookieValue === undefined ? undefined : this.byToken.get(cookieValue);
  }

  /** The target a request's cookies name: the plain cookie, else its cross-origin copy. */
  lookupIn(cookies: Readonly<Record<string, string>>): T | undefined {
    return this.lookup(cookies[this.names.cookie] ?? cookies[this.names.corsCookie]);
  }

  /**
   * `Set-Cookie` values for a target: [AWSALB, AWSALBCORS] (or the group pair), expiring `durationSeconds` from now.
   * Cached per target for the current second so the hot path does no formatting.
   */
  setCookies(target: T, nowMs: number): readonly [string, string] {
    const second = Math.floor(nowMs / 1000);
    const hit = this.cached.get(target);
    if (hit !== undefined && hit.second === second) return hit.values;
    const token = this.tokenOf.get(target) ?? '';
    const expires = new Date((second + this.durationSeconds) * 1000).toUTCString();
    const values = [
      `${this.names.cookie}=${token}; Expires=${expires}; Path=/`,
      `${this.names.corsCookie}=${token}; Expires=${expires}; Path=/; SameSite=None; Secure`,
    ] as const;
    this.cached.set(target, { second, values });
    return values;
  }
}
