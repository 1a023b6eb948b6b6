/**
 * Desync mitigation as the ALB does it (`routing.http.desync_mitigation_mode`): each HTTP/1.x
 * request is classified Compliant, Acceptable, Ambiguous or Severe, and the mode decides what
 * happens. Classification reasons and the mode table are http_desync_guardian's, the library the
 * ALB uses ("Desync mitigation mode" in the ELB guide,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode,
 * and https://github.com/aws/http-desync-guardian/blob/master/docs/README.md).
 *
 * Only what Node's parser lets through can be classified here: llhttp already refuses with 400
 * (before the proxy sees them) both Content-Length and Transfer-Encoding, duplicate Content-Length,
 * obs-fold, CTL characters, bare LF, spaces in the URI and unknown transfer codings (501).
 */
import { IncomingHttpHeaders } from 'node:http';

export type DesyncTier = 'compliant' | 'acceptable' | 'ambiguous' | 'severe';
export type DesyncMode = 'monitor' | 'defensive' | 'strictest';

/** A tier and http_desync_guardian's reason for it. */
export interface DesyncVerdict {
  readonly tier: DesyncTier;
  readonly reason: string;
}

/** What the proxy does with a request: route it, route it and close both connections, or answer 400. */
export type DesyncAction = 'forward' | 'forward-then-close' | 'reject';

const COMPLIANT: DesyncVerdict = Object.freeze({ tier: 'compliant', reason: 'Compliant' });

/** The framing headers a look-alike name could be mistaken for. */
const FRAMING_HEADERS = ['transferencoding', 'contentlength'];

/** Outside printable ASCII and tab: what guardian calls a non-compliant header value. */
const NON_ASCII_VALUE = /[^\t\x20-\x7e]/;

export interface ClassifiedRequest {
  readonly method: string;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
}

/** `Transfer_Encoding`, `content.length`…: normalized (letters only) to a framing header but not one. */
function suspiciousName(name: string): boolean {
  if (name === 'transfer-encoding' || name === 'content-length' || name.length < 13 || name.length > 20) return false;
  // Header names are lower case here; both framing names start with t or c.
  const first = name.charCodeAt(0);
  if (first !== 0x74 && first !== 0x63) return false;
  return FRAMING_HEADERS.includes(name.replace(/[^a-z]/g, ''));
}

function ambiguousOrAcceptableHeader(headers: IncomingHttpHeaders): DesyncVerdict | undefined {
  let acceptable: DesyncVerdict | undefined;
  for (const name in headers) {
    if (suspiciousName(name)) return { tier: 'ambiguous', reason: 'SuspiciousHeader' };
    const value = headers[name];
    if (acceptable === undefined && typeof value === 'string' && NON_ASCII_VALUE.test(value)) acceptable = { tier: 'acceptable', reason: 'NonCompliantHeader' };
  }
  return acceptable;
}

/** The request's tier; most requests cost a few comparisons and one pass over the header names. */
export function classifyRequest(req: ClassifiedRequest): DesyncVerdict {
  const { headers } = req;
  const getOrHead = req.method === 'GET' || req.method === 'HEAD';
  const length = headers['content-length'];
  const te = headers['transfer-encoding'];
  if (getOrHead && te !== undefined) return { tier: 'ambiguous', reason: 'UndefinedTransferEncodingSemantics' };
  if (getOrHead && length !== undefined && length !== '0') return { tier: 'ambiguous', reason: 'UndefinedContentLengthSemantics' };
  if (req.httpVersion === '1.0' && te !== undefined) return { tier: 'ambiguous', reason: 'UndefinedTransferEncodingSemantics' };
  const byHeader = ambiguousOrAcceptableHeader(headers);
  if (byHeader?.tier === 'ambiguous') return byHeader;
  if (req.httpVersion === '0.9') return { tier: 'acceptable', reason: 'NonCompliantVersion' };
  if (getOrHead && length === '0') return { tier: 'acceptable', reason: 'GetHeadZeroContentLength' };
  return byHeader ?? COMPLIANT;
}

/**
 * The mode table: monitor routes everything; defensive blocks Severe and routes Ambiguous but
 * closes the client and target connections after it; strictest lets only Compliant through.
 */
export function desyncAction(tier: DesyncTier, mode: DesyncMode): DesyncAction {
  if (tier === 'compliant' || mode === 'monitor') return 'forward';
  if (tier === 'severe' || mode === 'strictest') return 'reject';
  return tier === 'ambiguous' ? 'forward-then-close' : 'forward';
}
