/**
 * The size of a body sent without Content-Length (HTTP/1.1 chunked, HTTP/2 DATA frames), as far
 * as WAF can tell it: behind an ALB WAF gets the first 8 KB, so the proxy waits until one byte
 * more than that is buffered, or the body ended, and looks at the buffered length without reading
 * it. The body then streams to the target untouched: nothing is consumed, nothing more is held.
 */
import { IncomingMessage } from 'node:http';
import { Http2ServerRequest } from 'node:http2';
import { WAF_ALB_BODY_INSPECTION_BYTES } from '../../waf/content-length';

export type PeekResult = { readonly size: number } | { readonly failed: 'stalled' | 'aborted' };

/** The whole body has arrived (it may still sit in the request's buffer). */
function ended(req: IncomingMessage | Http2ServerRequest): boolean {
  // HTTP/1.1: the parser sets `complete` before it pushes the end. HTTP/2: the compat request is
  // fed from its stream, which has ended once the client's last DATA frame came.
  return 'stream' in req ? req.stream.readableEnded : req.complete;
}

/**
 * Resolves with the buffered body size once it is over `limit` (default: WAF's inspection limit)
 * or the body is complete; `stalled` when no byte comes for `timeoutMs`, `aborted` when the
 * client goes away first.
 */
export function peekBodySize(req: IncomingMessage | Http2ServerRequest, timeoutMs: number, limit = WAF_ALB_BODY_INSPECTION_BYTES): Promise<PeekResult> {
  const known = (): boolean => req.readableLength > limit || ended(req);
  if (known()) return Promise.resolve({ size: req.readableLength });
  return new Promise((resolve) => {
    let timer = setTimeout(() => done({ failed: 'stalled' }), timeoutMs);
    const onReadable = (): void => {
      if (known()) return done({ size: req.readableLength });
      clearTimeout(timer);
      timer = setTimeout(() => done({ failed: 'stalled' }), timeoutMs);
    };
    const onClose = (): void => done({ failed: 'aborted' });
    function done(result: PeekResult): void {
      clearTimeout(timer);
      // Removing the last 'readable' listener hands the stream back to whoever reads it next (pipe, undici).
      req.off('readable', onReadable);
      req.off('close', onClose);
      req.off('error', onClose);
      resolve(result);
    }
    req.on('readable', onReadable);
    req.once('close', onClose);
    req.once('error', onClose);
  });
}
