import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { adminAuthorization } from '../util/admin-token';

export { adminAuthorization };

/**
 * Makes the ELBv2 client (the drain's, with `--endpoint`) send the local proxy's admin token: the
 * bearer header replaces the SigV4 one after signing, which the local proxy does not verify.
 */
export function sendAdminToken(client: ElasticLoadBalancingV2Client, token: string): ElasticLoadBalancingV2Client {
  type Handler = (args: { readonly request: unknown }) => Promise<unknown>;
  const bearer = (next: Handler): Handler => (args) => {
    (args.request as { headers: Record<string, string> }).headers.authorization = adminAuthorization(token);
    return next(args);
  };
  // A finalize-step middleware; the stack's own type for it lives in @smithy/types, not a dependency here.
  client.middlewareStack.addRelativeTo(
    bearer as unknown as Parameters<ElasticLoadBalancingV2Client['middlewareStack']['addRelativeTo']>[0],
    { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'albatrossAdminToken' },
  );
  return client;
}
