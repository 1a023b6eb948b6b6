/**
 * The one contract between the local proxy's admin API and the clients that drive it (the drain
 * CLI and its in-flight probe): the admin token travels as an RFC 6750 bearer credential. Neutral
 * ground, so that neither the proxy nor the drain imports the other.
 */

/** The value of the `Authorization` header that carries the admin token. */
export function adminAuthorization(token: string): string {
  return `Bearer ${token}`;
}
