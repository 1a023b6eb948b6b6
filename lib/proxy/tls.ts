import { readFileSync } from 'node:fs';
import { generate } from 'selfsigned';

/** A certificate and its key, PEM-encoded. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** How long the local certificate is valid: short, as it is made again at every start. */
export const SELF_SIGNED_VALIDITY_DAYS = 30;

const DAY_MS = 24 * 3600 * 1000;

/** A self-signed certificate for localhost, made at start so no key is ever committed. */
export async function selfSignedCertificate(): Promise<TlsMaterial> {
  const notBeforeDate = new Date();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    // selfsigned 5 takes dates (its `days` option is gone; its default is a year).
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + SELF_SIGNED_VALIDITY_DAYS * DAY_MS),
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** `--cert`/`--key` files when given, else a fresh self-signed certificate. */
export async function loadTlsMaterial(certFile?: string, keyFile?: string): Promise<TlsMaterial> {
  if (certFile === undefined && keyFile === undefined) return selfSignedCertificate();
  if (certFile === undefined || keyFile === undefined) throw new Error('--cert and --key go together');
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
