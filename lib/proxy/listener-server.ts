/**
 * The socket side of one listener: an HTTP server, an HTTPS server, or, when the load balancer
 * has `routing.http2.enabled`, an HTTPS server that speaks HTTP/2 to clients that offer `h2` in
 * ALPN and HTTP/1.1 to the others (WebSocket included), as the ALB does on HTTPS listeners.
 * Also how each is stopped gracefully.
 */
import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createSecureServer, Http2SecureServer, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { MAX_HEADER_BYTES } from './request-limits';
import { TlsMaterial } from './tls';
import { tlsPolicyOptions } from './tls-policy';

/** A client request as either protocol delivers it. */
export type ClientRequest = IncomingMessage | Http2ServerRequest;
export type ClientResponse = ServerResponse | Http2ServerResponse;

/** How to build one listener's server. */
export interface ListenerServerProps {
  /** Template listener name, for error messages. */
  readonly name: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  /** HTTPS: the certificate. */
  readonly tls: TlsMaterial;
  /** HTTPS: the template's SslPolicy (absent: none set). */
  readonly sslPolicy?: string;
  /** HTTPS: offer HTTP/2 (`routing.http2.enabled`). */
  readonly http2: boolean;
  /** Time a client has for the TLS handshake and then for the request head. */
  readonly headersTimeoutMs: number;
  /** The load balancer's idle timeout: idle connections (and HTTP/2 sessions) are closed after it. */
  readonly idleTimeoutMs: number;
  /** Told whenever a client connection (TCP, before or after TLS) closes. @default none */
  readonly onConnectionClose?: () => void;
}

/** A listener's server and how to stop it. */
export interface ListenerServer {
  /** Emits `request`, `upgrade` and `clientError` like node:http. */
  readonly server: HttpServer | Http2SecureServer;
  /** Stops accepting, closes idle connections, lets requests in flight finish for up to graceMs, then cuts. */
  drain(graceMs: number): Promise<void>;
}

/** Set on a connection's socket once it carried a request (HTTP/1.1). */
const SAW_REQUEST = Symbol('albatross.sawRequest');
type MarkedSocket = Socket & { [SAW_REQUEST]?: true };

/** Called for every HTTP/1.1 request: its connection is no longer a silent one. */
export function markRequestSeen(socket: Socket): void {
  (socket as MarkedSocket)[SAW_REQUEST] = true;
}

/**
 * Node's header timeout starts with the first byte of a request: a connection that never sends
 * one (after its TLS handshake, or plain TCP) would stay open for good. It is closed when no
 * request started within the header timeout, like one that stalls inside its headers.
 */
function closeIfSilent(socket: Socket, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (!(socket as MarkedSocket)[SAW_REQUEST]) socket.destroy();
  }, timeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** How long a GOAWAY'd session without streams gets to close by itself before it is destroyed. */
const GOAWAY_GRACE_MS = 1000;

/**
 * An HTTP/2 connection that opens no stream within the header timeout is closed too. A client
 * that sent its preface (its SETTINGS frame arrived) gets GOAWAY, then is cut if it does not
 * close; one that negotiated `h2` and never sent the preface is not speaking HTTP/2 at all and is
 * cut at once (a GOAWAY would only wait a grace period on a client that reads nothing).
 */
function closeIfNoStream(session: ServerHttp2Session, socket: Socket, timeoutMs: number): void {
  let sentPreface = false;
  session.once('remoteSettings', () => (sentPreface = true));
  const timer = setTimeout(() => {
    if (!sentPreface) return void socket.destroy();
    session.close();
    setTimeout(() => socket.destroy(), GOAWAY_GRACE_MS).unref();
  }, timeoutMs);
  timer.unref();
  session.once('stream', () => clearTimeout(timer));
  session.once('close', () => clearTimeout(timer));
}

/** How often idle keep-alive connections are swept while draining. */
const DRAIN_SWEEP_MS = 50;

/** The HTTP/1.1 settings, on node:http and on the HTTP/1.1 side of an HTTP/2 server alike. */
function http1Settings(props: ListenerServerProps) {
  return {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: props.headersTimeoutMs,
    requestTimeout: 0,
    // Node enforces headersTimeout on this period (30 s by default), too coarse for a slowloris guard.
    connectionsCheckingInterval: Math.min(1000, Math.max(50, props.headersTimeoutMs / 4)),
    // The ALB closes client connections idle longer than its idle timeout.
    keepAliveTimeout: props.idleTimeoutMs,
  };
}

function tlsSettings(props: ListenerServerProps) {
  return {
    cert: props.tls.cert,
    key: props.tls.key,
    ...tlsPolicyOptions(props.sslPolicy, props.name),
    // Without it Node waits 120 s for a handshake: 10k silent connections would sit that long.
    handshakeTimeout: props.headersTimeoutMs,
  };
}

/**
 * Stops accepting and closes idle connections at once; connections with a request in flight close
 * after their response (responses say `Connection: close` while closing), and whatever is left
 * when the grace period ends is cut.
 */
export function drainHttp1(server: HttpServer, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), DRAIN_SWEEP_MS);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function http1Listener(props: ListenerServerProps): ListenerServer {
  const settings = http1Settings(props);
  const server = props.protocol === 'HTTPS' ? createHttpsServer({ ...settings, ...tlsSettings(props) }) : createHttpServer(settings);
  server.on(props.protocol === 'HTTPS' ? 'secureConnection' : 'connection', (socket: Socket) => closeIfSilent(socket, props.headersTimeoutMs));
  const onClose = props.onConnectionClose;
  if (onClose) server.on('connection', (socket: Socket) => socket.once('close', onClose));
  return { server, drain: (graceMs) => drainHttp1(server, graceMs) };
}

/**
 * HTTP/2 with HTTP/1.1 fallback. The HTTP/1.1 connections it accepts are served by node:http's
 * own connection handling, which reads its limits from the server object, so they are set there.
 */
function http2Listener(props: ListenerServerProps): ListenerServer {
  const server = createSecureServer({ ...tlsSettings(props), allowHTTP1: true, settings: { maxHeaderListSize: MAX_HEADER_BYTES * 2 } });
  Object.assign(server, http1Settings(props));
  const sessions = new Set<ServerHttp2Session>();
  const sockets = new Set<Socket>();
  // Raw TCP sockets, so that the cut also reaches connections still in their handshake.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      props.onConnectionClose?.();
    });
  });
  // Node emits `session` from its own `secureConnection` listener, just before this one runs:
  // that pairs an HTTP/2 session with its TLS socket.
  let newSession: ServerHttp2Session | undefined;
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2' && newSession !== undefined) closeIfNoStream(newSession, socket, props.headersTimeoutMs);
    else closeIfSilent(socket, props.headersTimeoutMs);
    newSession = undefined;
  });
  server.on('session', (session: ServerHttp2Session) => {
    newSession = session;
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // An HTTP/2 connection with no stream activity for the idle timeout is closed, as on the ALB.
    session.setTimeout(props.idleTimeoutMs, () => session.close());
  });
  // Node adds it to HTTP/2 servers with allowHTTP1 (for their HTTP/1.1 connections); its types do not say so.
  const closeIdleHttp1 = () => (server as unknown as Pick<HttpServer, 'closeIdleConnections'>).closeIdleConnections();
  const drain = (graceMs: number) =>
    new Promise<void>((resolve) => {
      // GOAWAY: no new streams; the session closes once its streams are done.
      for (const session of sessions) session.close();
      const sweep = setInterval(closeIdleHttp1, DRAIN_SWEEP_MS);
      const cut = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(cut);
        resolve();
      });
      closeIdleHttp1();
    });
  return { server, drain };
}

/** The server for one listener of the model. */
export function createListenerServer(props: ListenerServerProps): ListenerServer {
  return props.protocol === 'HTTPS' && props.http2 ? http2Listener(props) : http1Listener(props);
}
