/**
 * Upgrade requests. Node hands an upgrade request over with its raw socket and stops parsing that
 * connection. The ALB only tunnels a WebSocket handshake the target accepted with
 * `101 Switching Protocols`; everything else is an ordinary request on a connection it keeps
 * parsing (so later requests still go through the listener rules and get X-Forwarded-*).
 *
 * - WebSocket handshakes (`GET`, `Upgrade: websocket`, no body) are served with a ServerResponse
 *   on the raw socket: rules, redirects and fixed responses apply as to any request. A forward
 *   sends the handshake to the target; a 101 turns the connection into a tunnel, any other answer
 *   is relayed as a response and the connection goes back to Node's HTTP parser.
 * - Other upgrades (`h2c`, …) are not upgrades for the ALB: the request head is rebuilt without
 *   `Upgrade` and handed back to the parser, which serves it (and its body) as a normal request.
 *
 * Node removes its own error handler from the socket before emitting 'upgrade', so every path
 * keeps an 'error' listener on both sockets: an unhandled socket error would crash the proxy.
 */
import { EventEmitter } from 'node:events';
import { IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { BodySink, clientAborted, hasBody, relayResponse, upstreamTimeout, UpstreamRequest } from './upstream';

const guarded = new WeakSet<Duplex>();

/** Adds (once) an error listener that destroys the socket: call first on any socket 'upgrade' hands over. */
export function guardSocket(socket: Duplex): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.on('error', () => socket.destroy());
}

/** A WebSocket opening handshake (RFC 6455 §4.1: a GET without a body), the only upgrade the ALB tunnels. */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && upgrade !== undefined && upgrade.split(',').some((t) => t.trim().toLowerCase() === 'websocket') && !hasBody(req);
}

/**
 * Hands a connection back to Node's HTTP parser, with `pending` (bytes already read past the
 * upgrade request) parsed first. Node's HTTP connection listener is on 'secureConnection' for TLS
 * servers and on 'connection' for plain ones; injecting a socket this way is documented for
 * 'connection'.
 */
export function resumeHttp(server: EventEmitter, socket: Duplex, pending: Buffer): void {
  if (socket.destroyed) return;
  if (pending.length > 0) socket.unshift(pending);
  server.emit(socket instanceof TLSSocket ? 'secureConnection' : 'connection', socket);
  // A socket that waited with a 'readable' listener is paused: the parser's 'data' listener alone would not start it.
  if (socket.readableFlowing !== true) socket.resume();
}

/**
 * An idle connection after a non-101 answer waits for its next request like a keep-alive one
 * (closed after the keep-alive timeout). A parser started at once would count the wait against
 * the header timeout and answer 408.
 */
function awaitNextRequest(server: EventEmitter, socket: Socket, keepAliveMs: number, open: Set<Duplex>): void {
  open.add(socket);
  socket.setTimeout(keepAliveMs, () => socket.destroy());
  socket.once('close', () => open.delete(socket));
  socket.once('readable', () => {
    open.delete(socket);
    socket.setTimeout(0);
    resumeHttp(server, socket, Buffer.alloc(0));
  });
}

/** `Connection` without its `upgrade` token ('' when nothing else is left). */
function withoutUpgradeToken(connection: string): string {
  return connection
    .split(',')
    .filter((token) => token.trim().toLowerCase() !== 'upgrade')
    .join(',')
    .trim();
}

/**
 * Serves a non-WebSocket upgrade as the ordinary request it is for the ALB: the head is rebuilt
 * from the raw headers (same names, order and framing) without `Upgrade` and its `Connection`
 * token, and the connection goes back to the parser with it. The body, if any, follows as sent.
 */
export function reparseWithoutUpgrade(server: EventEmitter, req: IncomingMessage, socket: Duplex, pending: Buffer): void {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'upgrade') continue;
    const value = name === 'connection' ? withoutUpgradeToken(raw[i + 1]) : raw[i + 1];
    if (name === 'connection' && value === '') continue;
    head += `${raw[i]}: ${value}\r\n`;
  }
  resumeHttp(server, socket, Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), pending]));
}

/** Whether the client asked to keep the connection (HTTP/1.1 without `Connection: close`). */
function clientKeepsAlive(req: IncomingMessage): boolean {
  if (req.httpVersion !== '1.1') return false;
  const connection = req.headers.connection;
  return connection === undefined || !connection.split(',').some((t) => t.trim().toLowerCase() === 'close');
}

/**
 * A ServerResponse on the raw socket of a WebSocket handshake. When it finishes (any answer but a
 * 101), the connection goes back to the HTTP parser, or is closed when it must not be kept.
 * `idle.open` holds the connections waiting for their next request, so a shutdown can close them.
 */
export function responseOnSocket(server: EventEmitter, req: IncomingMessage, socket: Socket, pending: Buffer, idle: { readonly keepAliveMs: number; readonly open: Set<Duplex> }): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = clientKeepsAlive(req);
  res.assignSocket(socket);
  res.once('finish', () => {
    res.detachSocket(socket);
    if (!res.shouldKeepAlive) socket.end();
    else if (pending.length > 0) resumeHttp(server, socket, pending);
    else awaitNextRequest(server, socket, idle.keepAliveMs, idle.open);
  });
  return res;
}

/** The client side of a WebSocket handshake being forwarded. */
export interface HandshakeClient {
  readonly socket: Socket;
  /** Bytes the client sent after the handshake (sent on to the target once it accepted). */
  readonly head: Buffer;
  readonly response: ServerResponse;
  /** Open tunnels (client sockets), so a shutdown can close them. */
  readonly open: Set<Duplex>;
}

/** The 101 head as the target sent it (names and order kept). */
function switchingHead(response: IncomingMessage): string {
  let head = `HTTP/1.1 101 ${response.statusMessage || 'Switching Protocols'}\r\n`;
  const raw = response.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** Bytes flow both ways until either side closes or both are idle longer than the idle timeout. */
function tunnel(client: HandshakeClient, response: IncomingMessage, upstream: Socket, upstreamHead: Buffer, idleMs: number, done: () => void): void {
  const { socket } = client;
  upstream.on('error', () => upstream.destroy());
  client.response.detachSocket(socket);
  client.open.add(socket);
  socket.write(switchingHead(response));
  if (upstreamHead.length > 0) socket.write(upstreamHead);
  if (client.head.length > 0) upstream.write(client.head);
  const closeBoth = (): void => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.setTimeout(idleMs, closeBoth);
  socket.setTimeout(idleMs, closeBoth);
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    client.open.delete(socket);
    closeBoth();
    done();
  };
  upstream.once('close', end);
  socket.once('close', end);
  upstream.pipe(socket);
  socket.pipe(upstream);
}

/**
 * Sends a WebSocket handshake to the request's target over a new connection. A 101 opens the
 * tunnel (`onSwitched`), and the promise resolves when the tunnel closes; any other answer goes
 * through `sink` like a normal response. Rejects like the upstream client does (timeouts as
 * UPSTREAM_TIMEOUT, a client that left as CLIENT_ABORTED), so the caller releases its lease once.
 */
export function exchangeHandshake(r: UpstreamRequest, sink: BodySink, client: HandshakeClient, onSwitched: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const options = { host: r.target.host, port: r.target.port, method: r.method, path: r.path, headers: r.headers, agent: false as const };
    // Target certificates are not verified, as on the ALB.
    const outgoing = r.protocol === 'HTTPS' ? httpsRequest({ ...options, rejectUnauthorized: false }) : httpRequest(options);
    outgoing.setTimeout(r.timeoutMs, () => outgoing.destroy(upstreamTimeout()));
    const onAbort = (): void => void outgoing.destroy(clientAborted());
    r.abort?.once('abort', onAbort);
    outgoing.once('error', reject);
    outgoing.once('response', (response) => {
      try {
        relayResponse(response, sink, resolve, reject);
      } catch (error) {
        response.destroy();
        reject(error as Error);
      }
    });
    outgoing.once('upgrade', (response: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
      // From here on the client closing is the normal end of a tunnel, not an abort.
      r.abort?.off('abort', onAbort);
      outgoing.setTimeout(0);
      onSwitched();
      tunnel(client, response, upstream, upstreamHead, r.timeoutMs, resolve);
    });
    outgoing.end();
  });
}
