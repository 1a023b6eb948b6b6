/**
 * WebSocket and other upgrades: the handshake goes to a target over a new connection, then bytes
 * flow both ways until either side closes or the tunnel is idle longer than the idle timeout (the
 * ALB closes idle WebSocket connections the same way).
 *
 * Node removes its own error handler from the client socket before emitting 'upgrade', so every
 * path here keeps an 'error' listener on both sockets for their whole life: an unhandled socket
 * error would crash the proxy.
 */
import { connect, Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { TargetLease } from './contracts';
import { ListenerModel } from './model';
import { writeLoadBalancerError } from './errors';
import { TargetProtocol } from './upstream';

export interface TunnelOptions {
  readonly listener: ListenerModel;
  readonly lease: TargetLease;
  readonly protocol: TargetProtocol;
  /** The request line and headers to send to the target. */
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  /** No connection/answer within it is a 504; an established tunnel idle that long is closed. */
  readonly idleTimeoutMs: number;
  /** Open tunnels (client sockets), so a shutdown can close them. */
  readonly open: Set<Duplex>;
}

/** Adds an error listener that destroys the socket: call first on any socket 'upgrade' hands over. */
export function guardSocket(socket: Duplex): void {
  socket.on('error', () => socket.destroy());
}

function requestHead(method: string, url: string, headers: Record<string, string | string[]>): string {
  let head = `${method} ${url} HTTP/1.1\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
    else head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

function connectTarget(protocol: TargetProtocol, host: string, port: number): { socket: Socket; connectedEvent: 'connect' | 'secureConnect' } {
  if (protocol === 'HTTPS') {
    // Target certificates are not verified, as on the ALB.
    return { socket: tlsConnect({ host, port, rejectUnauthorized: false }), connectedEvent: 'secureConnect' };
  }
  return { socket: connect(port, host), connectedEvent: 'connect' };
}

/** Connects the client to the lease's target and relays the upgrade; releases the lease exactly once. */
export function tunnelUpgrade(client: Socket, head: Buffer, options: TunnelOptions): void {
  const { lease, listener } = options;
  const { socket: upstream, connectedEvent } = connectTarget(options.protocol, lease.target.host, lease.target.port);
  upstream.on('error', () => upstream.destroy());
  options.open.add(client);
  let answered = false;
  let released = false;
  const release = (failed: boolean): void => {
    if (released) return;
    released = true;
    lease.release({ failed });
  };
  /** The target failed before answering: the client gets the load balancer's error page. */
  const failBeforeAnswer = (status: 502 | 504): void => {
    release(true);
    upstream.destroy();
    writeLoadBalancerError(client, status, listener);
  };

  const closeBoth = (): void => {
    upstream.destroy();
    client.destroy();
  };
  // Until the target answers, its silence is a 504; after that, either side idle closes the tunnel.
  upstream.setTimeout(options.idleTimeoutMs, () => (answered ? closeBoth() : failBeforeAnswer(504)));

  upstream.once(connectedEvent, () => {
    upstream.write(requestHead(options.method, options.url, options.headers));
    if (head.length > 0) upstream.write(head);
    upstream.once('data', () => {
      answered = true;
      client.setTimeout(options.idleTimeoutMs, closeBoth);
    });
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.once('close', () => {
    if (answered) {
      release(false);
      client.destroy();
    } else if (!released) {
      // Refused, reset or closed without a response: the ALB answers 502.
      failBeforeAnswer(502);
    }
  });
  client.once('close', () => {
    options.open.delete(client);
    upstream.destroy();
    // The client went away: not the target's fault.
    release(false);
  });
}
