/**
 * The proxy speaks HTTP/1.1 to HTTPS targets, as the ALB does with target groups of ProtocolVersion
 * HTTP1 (the only one the template uses), even when a target offers h2 in ALPN: undici 8 would
 * take h2 unless told not to. Real sockets on loopback.
 */
import { createSecureServer, Http2SecureServer, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer, IncomingMessage } from 'node:http';
import { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { LoadBalancerModel } from '../../../lib/proxy/model';
import { ClientAbort, createUpstreamClient, UpstreamClientKind } from '../../../lib/proxy/upstream';
import { defaultGroup, eventually, get, stackModel, startTestProxy, testTls } from './support/proxy';

const model = stackModel();
const APP = defaultGroup(model);
const httpsGroups: LoadBalancerModel = {
  ...model,
  targetGroups: Object.fromEntries(Object.entries(model.targetGroups).map(([id, tg]) => [id, { ...tg, protocol: 'HTTPS' as const }])),
};

/** An HTTPS target that offers h2 and http/1.1 and answers with the HTTP version it was spoken to in. */
async function h2CapableTarget(): Promise<{ server: Http2SecureServer; port: number; versions: string[] }> {
  const versions: string[] = [];
  const server = createSecureServer({ ...(await testTls()), allowHTTP1: true }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (req.url !== '/health') versions.push(req.httpVersion);
    res.end(req.httpVersion);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, versions };
}

test.each<UpstreamClientKind>(['undici', 'http'])('%s: an HTTPS target that offers h2 is spoken to in HTTP/1.1', async (kind) => {
  const target = await h2CapableTarget();
  const address = { host: '127.0.0.1', port: target.port };
  const proxy = await startTestProxy(httpsGroups, Object.fromEntries(Object.keys(model.targetGroups).map((id) => [id, [address]])), { server: { upstreamClient: kind } });
  try {
    await eventually(() => proxy.runtime.report().targetGroups.find((g) => g.name === APP)!.targets[0].state === 'healthy', 5000, 'healthy over TLS');
    const answer = await get(`${proxy.https}/`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('1.1');
    expect(target.versions).toEqual(['1.1']);
  } finally {
    await proxy.close();
    await new Promise((resolve) => target.server.close(resolve));
  }
});

test.each<UpstreamClientKind>(['undici', 'http'])('%s: a client that went away before the forward is never sent to the target', async (kind) => {
  let requests = 0;
  const target = createServer((_req, res) => {
    requests++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const port = (target.address() as AddressInfo).port;
  const upstream = createUpstreamClient(kind);
  const abort = new ClientAbort();
  abort.abort();
  const client = Object.assign(Readable.from([]), { headers: {} }) as unknown as IncomingMessage;
  const request = { target: { host: '127.0.0.1', port }, targetId: `127.0.0.1:${port}`, method: 'GET', path: '/', headers: { host: 'x' }, client, timeoutMs: 5000, abort };
  try {
    await expect(upstream.send(request, () => new PassThrough())).rejects.toMatchObject({ code: 'CLIENT_ABORTED' });
    // A request on its way would have reached the target by now.
    await new Promise((r) => setTimeout(r, 200));
    expect(requests).toBe(0);
  } finally {
    await upstream.close();
    await new Promise((resolve) => target.close(resolve));
  }
});
