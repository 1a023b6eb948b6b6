/** Small real HTTP backends on loopback for data-plane tests, with a controllable health endpoint. */
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { TargetAddress, TargetGroupModel } from '../../../../lib/proxy/model';

export interface Backend {
  readonly address: TargetAddress;
  readonly id: string;
  /** Status the health path answers with. */
  healthStatus: number;
  /** Milliseconds before the health path answers. */
  healthDelayMs: number;
  /** When set, decides the health status of the n-th (1-based) health request, and may observe it. */
  healthStatusFor?: (n: number) => number;
  /** Requests the health path received, with their headers and the client port they came from. */
  readonly healthRequests: { path: string; headers: IncomingHttpHeaders; remotePort?: number }[];
  close(): Promise<void>;
}

export async function startBackend(healthPath = '/health'): Promise<Backend> {
  const healthRequests: Backend['healthRequests'] = [];
  const state = { healthStatus: 200, healthDelayMs: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url === healthPath) {
      healthRequests.push({ path: req.url, headers: req.headers, remotePort: req.socket.remotePort });
      const answer = (): void => {
        res.statusCode = backend.healthStatusFor?.(healthRequests.length) ?? backend.healthStatus;
        res.end('ok');
      };
      if (backend.healthDelayMs > 0) setTimeout(answer, backend.healthDelayMs);
      else answer();
      return;
    }
    res.end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const backend: Backend = {
    address: { host: '127.0.0.1', port },
    id: `127.0.0.1:${port}`,
    ...state,
    healthRequests,
    close: () => closeNow(server),
  };
  return backend;
}

/** Closes a test server and every connection it still has, without waiting for clients. */
export function closeNow(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A target group model with test-friendly values (scale them with `timeScale`). */
export function groupModel(over: Partial<TargetGroupModel> = {}): TargetGroupModel {
  return {
    logicalId: 'TgApp',
    name: 'app',
    protocol: 'HTTP',
    port: 8080,
    healthCheck: { enabled: true, path: '/health', intervalSeconds: 10, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2, matcher: '200' },
    deregistrationDelaySeconds: 30,
    slowStartSeconds: 0,
    algorithm: 'round_robin',
    anomalyMitigation: false,
    stickiness: { enabled: false, type: 'lb_cookie', durationSeconds: 86400 },
    ...over,
  };
}

/** Polls until `predicate` holds (or fails the test after `timeoutMs`). */
export async function waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
