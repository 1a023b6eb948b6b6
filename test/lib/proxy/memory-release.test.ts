/**
 * Memory given back after a burst of closed client connections (lib/proxy/memory-release.ts):
 * counted over real sockets on both listeners, and the release itself is a real V8 collection.
 */
import { connect, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { runInNewContext } from 'node:vm';
import { ConnectionBurstRelease, releaseMemory } from '../../../lib/proxy/memory-release';
import { eventually, httpsListener, stackModel, startTestProxy, TestProxy } from './support/proxy';

const model = stackModel();
const HTTPS = httpsListener(model).port;
const HTTP = model.listeners.find((l) => l.protocol === 'HTTP')!.port;
const BURST = 20;
const QUIET_MS = 300;

/** Opens `count` connections (plain TCP, or TLS with a completed handshake) and resolves once all are open. */
function openConnections(port: number, count: number, tls: boolean): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = tls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }) : connect(port, '127.0.0.1');
          socket.on('error', () => undefined);
          socket.once(tls ? 'secureConnect' : 'connect', () => resolve(socket));
        }),
    ),
  );
}

describe('memory release after a burst of closed connections', () => {
  let proxy: TestProxy;
  const release = jest.fn();

  beforeAll(async () => {
    // No targets: the connections carry no request. Header timeout long enough that the test closes them.
    proxy = await startTestProxy(model, {}, { server: { headersTimeoutMs: 10_000, memoryRelease: { burst: BURST, quietMs: QUIET_MS, release } } });
  });

  afterAll(() => proxy.close());

  test('a burst on both listeners (TLS and plain TCP) releases once, only after the quiet period', async () => {
    const sockets = [...(await openConnections(proxy.ports[HTTPS], BURST / 2, true)), ...(await openConnections(proxy.ports[HTTP], BURST / 2, false))];
    for (const socket of sockets) socket.destroy();
    const closedAt = Date.now();
    await new Promise((r) => setTimeout(r, QUIET_MS / 2));
    expect(release).not.toHaveBeenCalled();
    await eventually(() => release.mock.calls.length === 1, 2000, 'release after the burst');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(QUIET_MS);
    // Fewer closes than a burst since the release: nothing more.
    for (const socket of await openConnections(proxy.ports[HTTP], BURST - 1, false)) socket.destroy();
    await new Promise((r) => setTimeout(r, QUIET_MS * 2));
    expect(release).toHaveBeenCalledTimes(1);
  });
});

describe('releaseMemory', () => {
  test('runs a full collection: garbage that survived into the old generation is gone after it', () => {
    const garbage = Array.from({ length: 300_000 }, (_, index) => ({ index, text: `item ${index}` }));
    expect(releaseMemory()).toBe(true); // promotes the still-referenced array
    const before = process.memoryUsage().heapUsed;
    expect(garbage.length).toBe(300_000);
    garbage.length = 0; // the objects are now garbage
    expect(releaseMemory()).toBe(true);
    const freedMiB = (before - process.memoryUsage().heapUsed) / 1048576;
    expect(freedMiB).toBeGreaterThan(10);
  });

  test('no other context gets a gc global from it', () => {
    releaseMemory();
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  test('closes spread over more than the window are no burst', async () => {
    const release = jest.fn();
    const counter = new ConnectionBurstRelease({ burst: 10, windowMs: 100, quietMs: 0, release });
    for (let i = 0; i < 9; i++) counter.connectionClosed();
    await new Promise((r) => setTimeout(r, 150));
    counter.connectionClosed(); // the tenth, but the window has passed: a new count starts
    await new Promise((r) => setTimeout(r, 50));
    expect(release).not.toHaveBeenCalled();
    for (let i = 0; i < 9; i++) counter.connectionClosed();
    await eventually(() => release.mock.calls.length === 1, 1000, 'release after ten closes within the window');
    counter.stop();
  });

  test('bad settings name the option', () => {
    expect(() => new ConnectionBurstRelease({ burst: 0 })).toThrow(/memoryRelease\.burst must be 1 or more \(got 0\)/);
    expect(() => new ConnectionBurstRelease({ quietMs: -1 })).toThrow(/memoryRelease\.quietMs must be 0 or more \(got -1\)/);
    expect(() => new ConnectionBurstRelease({ windowMs: 0 })).toThrow(/memoryRelease\.windowMs must be above 0 \(got 0\)/);
  });
});
