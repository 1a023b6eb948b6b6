/**
 * The suite's HTTP and TLS client: every request and handshake bounded by the target's timeout,
 * certificates verified unless `insecure` (the local proxy's certificate is self-signed).
 */
import { connect as tlsConnect } from 'node:tls';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { TlsVersion } from './expectations';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface ClientOptions {
  /** Accept any certificate. @default false */
  readonly insecure: boolean;
  /** Bound of each connect, handshake and answer, in milliseconds. */
  readonly timeoutMs: number;
}

export class ConformanceClient {
  private readonly agent: Agent;

  constructor(readonly options: ClientOptions) {
    const t = options.timeoutMs;
    // HTTP/1.1, as the checks are written (undici 8 would take h2 from a listener that offers it).
    this.agent = new Agent({ connect: { rejectUnauthorized: !options.insecure, timeout: t }, headersTimeout: t, bodyTimeout: t, allowH2: false });
  }

  async send(url: URL | string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const response = await request(url, { ...init, dispatcher: this.agent, signal: AbortSignal.timeout(this.options.timeoutMs) });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  }

  /** Whether the server completes a handshake offering only `version`. */
  tlsAccepts(url: URL, version: TlsVersion): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host: url.hostname,
        port: Number(url.port || 443),
        servername: isIP(url.hostname) ? undefined : url.hostname,
        minVersion: version,
        maxVersion: version,
        rejectUnauthorized: !this.options.insecure,
      });
      socket.setTimeout(this.options.timeoutMs, () => {
        socket.destroy();
        reject(new Error(`no TLS answer within ${this.options.timeoutMs} ms`));
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        // A protocol alert is a refusal; a reset or an unverifiable certificate is not an answer.
        if (/SSL|TLS|alert|version/i.test(`${error.code ?? ''} ${error.message}`) && !/CERT|SELF_SIGNED|UNABLE_TO/.test(error.code ?? '')) resolve(false);
        else reject(error);
      });
    });
  }

  /**
   * The status of a POST that declares `contentLength` and sends only `sent` bytes: what WAF
   * decides from the headers, without uploading the whole body.
   */
  declaredPostStatus(url: URL, contentLength: number, sent: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port || 443), servername: isIP(url.hostname) ? undefined : url.hostname, rejectUnauthorized: !this.options.insecure });
      let received = '';
      const done = (error?: Error) => {
        socket.destroy();
        const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
        if (status) resolve(Number(status));
        else reject(error ?? new Error(`no HTTP status line in ${JSON.stringify(received.slice(0, 80))}`));
      };
      socket.setTimeout(this.options.timeoutMs, () => done(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      socket.once('secureConnect', () => {
        socket.write(`POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${contentLength}\r\n\r\n`);
        socket.write(Buffer.alloc(sent, 'a'));
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        if (received.includes('\r\n')) done();
      });
      socket.once('error', (error) => done(error));
      socket.once('end', () => done());
    });
  }
}
