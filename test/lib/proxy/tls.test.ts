/** The local proxy's self-signed certificate, read back as a client would see it. */
import { X509Certificate } from 'node:crypto';
import { SELF_SIGNED_VALIDITY_DAYS, selfSignedCertificate } from '../../../lib/proxy/tls';

const DAY_MS = 24 * 3600 * 1000;

test('the self-signed certificate is valid from now for 30 days, not the library default of a year', async () => {
  const before = Date.now();
  const cert = new X509Certificate((await selfSignedCertificate()).cert);
  const after = Date.now();
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  expect(SELF_SIGNED_VALIDITY_DAYS).toBe(30);
  // X.509 times have whole seconds.
  expect(from).toBeGreaterThanOrEqual(before - 1000);
  expect(from).toBeLessThanOrEqual(after);
  expect(Math.abs(to - from - 30 * DAY_MS)).toBeLessThanOrEqual(1000);
});

test('the certificate names localhost and both loopback addresses', async () => {
  const cert = new X509Certificate((await selfSignedCertificate()).cert);
  expect(cert.subject).toBe('CN=localhost');
  expect(cert.subjectAltName?.split(', ').sort()).toEqual(['DNS:localhost', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:127.0.0.1'].sort());
  expect(cert.checkHost('localhost')).toBe('localhost');
  expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
});
