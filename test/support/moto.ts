/**
 * moto_server (Python `moto`, installed on the dev and CI machines) as a real AWS stand-in on a
 * free loopback port: started by the test, waited for until it answers, stopped after.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { freePort, waitForHttp } from '../../lib/util/net';

export interface MotoServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/moto-api/`, 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** A Query API call that has no client in this project (EC2): moto reads the region from the signature's scope. */
export async function ec2Query(url: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=0' },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`EC2 ${params.Action} failed: ${text}`);
  return text;
}
