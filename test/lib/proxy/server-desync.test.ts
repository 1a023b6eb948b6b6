/**
 * Desync mitigation by mode over real sockets. Sources: "Desync mitigation mode" in the ELB guide,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode
 * and http_desync_guardian's classification (https://github.com/aws/http-desync-guardian/blob/master/docs/README.md):
 * defensive routes Ambiguous requests and closes the client and target connections, strictest
 * blocks everything that is not Compliant, monitor routes everything.
 */
import { connect as tlsConnect } from 'node:tls';
import { DesyncMode } from '../../../lib/proxy/desync';
import { defaultGroup, echoBackend, EchoBackend, eventually, httpsListener, oneDefaultGroupModel, startTestProxy, TestProxy } from './support/proxy';

const base = oneDefaultGroupModel();
const APP = defaultGroup(base);
const HTTPS_PORT = httpsListener(base).port;

interface Exchange {
  readonly text: string;
  /** The proxy closed the client connection (rather than the test giving up on a quiet one). */
  readonly closedByProxy: boolean;
}

function send(proxy: TestProxy, bytes: string): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port: proxy.ports[HTTPS_PORT], host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    let text = '';
    let closedByProxy = false;
    const quiet = setTimeout(() => socket.destroy(), 1500);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('end', () => (closedByProxy = true));
    socket.on('close', () => {
      clearTimeout(quiet);
      resolve({ text, closedByProxy });
    });
    socket.on('error', () => undefined);
    socket.once('secureConnect', () => socket.write(bytes, 'latin1'));
  });
}

/** Requests by tier, each a keep-alive HTTP/1.1 request the Node parser accepts. */
const REQUESTS = {
  compliant: 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n',
  // UndefinedContentLengthSemantics: a GET with a body.
  ambiguousGetBody: 'GET /get-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
  // SuspiciousHeader: a name that normalizes to Transfer-Encoding.
  ambiguousLookAlike: 'POST /look-alike HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nContent-Length: 2\r\n\r\nhi',
  // HTTP/1.0 with Transfer-Encoding.
  ambiguousHttp10Te: 'POST /http10-te HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
  // GetHeadZeroContentLength.
  acceptableZeroLength: 'GET /zero HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
  // NonCompliantHeader: a non-ASCII byte in a value.
  acceptableNonAscii: 'GET /non-ascii HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n',
  // BothTeClPresent (Ambiguous for the ALB): refused by Node's parser before the proxy sees it.
  bothTeCl: 'POST /both HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
};

async function withMode(mode: DesyncMode, run: (proxy: TestProxy, backend: EchoBackend) => Promise<void>): Promise<void> {
  const backend = await echoBackend('app');
  const proxy = await startTestProxy({ ...base, desyncMitigationMode: mode }, { [APP]: [backend.address] }, { server: { shutdownGraceMs: 100 } });
  try {
    await run(proxy, backend);
  } finally {
    await proxy.close();
    await backend.close();
  }
}

const routed = (e: Exchange) => /^HTTP\/1\.1 200 /.test(e.text);
const saysClose = (e: Exchange) => /\r\nconnection: close\r\n/i.test(e.text);

describe('defensive (the stack default)', () => {
  test('an Ambiguous request is routed, then the client and the target connections are closed', async () => {
    await withMode('defensive', async (proxy, backend) => {
      const answer = await send(proxy, REQUESTS.ambiguousGetBody);
      expect(routed(answer)).toBe(true);
      expect(saysClose(answer)).toBe(true);
      expect(answer.closedByProxy).toBe(true);
      expect(backend.seen.map((s) => s.url)).toContain('/get-body');
      // The proxy's pooled connection to the target is not kept for another request.
      await eventually(() => backend.sockets.size === 0, 2000, 'target connection closed');
    });
  });

  test('every Ambiguous kind the parser lets through is routed and closed; Compliant and Acceptable keep the connection', async () => {
    await withMode('defensive', async (proxy) => {
      for (const bytes of [REQUESTS.ambiguousLookAlike, REQUESTS.ambiguousHttp10Te]) {
        const answer = await send(proxy, bytes);
        expect(routed(answer)).toBe(true);
        expect(answer.closedByProxy).toBe(true);
      }
      for (const bytes of [REQUESTS.compliant, REQUESTS.acceptableZeroLength, REQUESTS.acceptableNonAscii]) {
        const answer = await send(proxy, bytes);
        expect(routed(answer)).toBe(true);
        expect(saysClose(answer)).toBe(false);
        expect(answer.closedByProxy).toBe(false);
      }
    });
  });

  test('both Content-Length and Transfer-Encoding: 400 (Node refuses it before classification; see docs/proxy.md)', async () => {
    await withMode('defensive', async (proxy, backend) => {
      expect((await send(proxy, REQUESTS.bothTeCl)).text).toMatch(/^HTTP\/1\.1 400 /);
      expect(backend.seen.map((s) => s.url)).not.toContain('/both');
    });
  });
});

describe('strictest', () => {
  test('Ambiguous and Acceptable requests get 400 and never reach the target; Compliant passes', async () => {
    await withMode('strictest', async (proxy, backend) => {
      for (const bytes of [REQUESTS.ambiguousGetBody, REQUESTS.ambiguousLookAlike, REQUESTS.acceptableZeroLength, REQUESTS.acceptableNonAscii]) {
        const answer = await send(proxy, bytes);
        expect(answer.text).toMatch(/^HTTP\/1\.1 400 /);
        expect(answer.closedByProxy).toBe(true);
      }
      expect(backend.seen).toHaveLength(0);
      expect(routed(await send(proxy, REQUESTS.compliant))).toBe(true);
    });
  });
});

describe('monitor', () => {
  test('an Ambiguous request is routed and the connection kept', async () => {
    await withMode('monitor', async (proxy) => {
      const answer = await send(proxy, REQUESTS.ambiguousGetBody);
      expect(routed(answer)).toBe(true);
      expect(answer.closedByProxy).toBe(false);
    });
  });
});
