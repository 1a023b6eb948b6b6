/**
 * WAF text transformations (WAFV2 API Reference, `TextTransformation`), on Latin-1 strings: one
 * character per byte, as Node reads the request line and headers. Each returns its input
 * unchanged when there is nothing to do, so the common request costs a scan, not a copy.
 */
import { WafTransformation } from './model';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** `%XX` decoded to its byte; a `%` not followed by two hex digits is kept as it is. */
export function urlDecode(value: string): string {
  if (!value.includes('%')) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 37 && i + 2 < value.length) {
      const hi = hexValue(value.charCodeAt(i + 1));
      const lo = hexValue(value.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out += String.fromCharCode(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += value[i];
  }
  return out;
}

/**
 * Multiple slashes collapsed, `/./` removed and `x/../` resolved; back-references at the start of
 * the input (nothing to go back to) are kept, as the guide describes NORMALIZE_PATH.
 */
export function normalizePath(value: string): string {
  if (!value.includes('//') && !value.includes('/.')) return value;
  const leading = value.startsWith('/');
  const trailing = value.endsWith('/') || value.endsWith('/.') || value.endsWith('/..');
  const out: string[] = [];
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(segment);
  }
  const joined = out.join('/');
  return `${leading ? '/' : ''}${joined}${trailing && joined !== '' ? '/' : ''}`;
}

function compressWhiteSpace(value: string): string {
  // WAF's white space: tab, LF, VT, FF, CR, space and non-breaking space, each run to one space.
  return /[\t\n\v\f\r \u00a0]{2,}|[\t\n\v\f\r\u00a0]/.test(value) ? value.replace(/[\t\n\v\f\r \u00a0]+/g, ' ') : value;
}

function applyOne(type: WafTransformation, value: string): string {
  switch (type) {
    case 'NONE':
      return value;
    case 'LOWERCASE':
      // WAF maps A-Z only; toLowerCase() would also fold Latin-1 and other letters.
      return value.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
    case 'URL_DECODE':
      return urlDecode(value);
    case 'NORMALIZE_PATH':
      return normalizePath(value);
    case 'NORMALIZE_PATH_WIN':
      return normalizePath(value.includes('\\') ? value.replace(/\\/g, '/') : value);
    case 'COMPRESS_WHITE_SPACE':
      return compressWhiteSpace(value);
    case 'REMOVE_NULLS':
      return value.includes('\0') ? value.replace(/\0/g, '') : value;
  }
}

/** Applies the transformations in order (the template's priorities, lowest first). */
export function transform(value: string, transformations: readonly WafTransformation[]): string {
  let out = value;
  for (const t of transformations) out = applyOne(t, out);
  return out;
}

const identity = (value: string): string => value;

/** The transformations as one function, made once per statement: NONE alone costs nothing. */
export function compileTransformations(transformations: readonly WafTransformation[]): (value: string) => string {
  const steps = transformations.filter((t) => t !== 'NONE');
  if (steps.length === 0) return identity;
  if (steps.length === 1) return (value) => applyOne(steps[0], value);
  return (value) => transform(value, steps);
}
