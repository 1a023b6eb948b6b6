/**
 * One run of the suite: against `url` when given (a deployed stack), else against the local proxy
 * it starts. Shared by `npm run conformance` and `npm run demo`.
 */
import { readFileSync } from 'node:fs';
import { ConformanceClient } from './client';
import { Expectations, readExpectations } from './expectations';
import { startLocalStack } from './local';
import { CheckResult, ConformanceTarget, runConformance } from './suite';

export interface RunOptions {
  /** The synthesized template the expectations come from. */
  readonly templateFile: string;
  /** Base URL of the HTTPS listener of a deployed stack. @default - the local proxy, started for the run */
  readonly url?: string;
  /** Base URL of its HTTP listener. @default - the host of `url` on the template's HTTP port */
  readonly httpUrl?: string;
  /** Accept any certificate (always on for the local proxy's self-signed one). @default false */
  readonly insecure: boolean;
  /** Bound of every connect, handshake and answer, in milliseconds. */
  readonly timeoutMs: number;
  /** Receives a line to print (the target, then one per check). */
  readonly print: (line: string) => void;
  readonly onResult: (r: CheckResult) => void;
}

/** A target that does not answer: the run stops before any check. */
export class UnreachableError extends Error {}

function readTemplate(file: string): Expectations {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the template ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); run \`npx cdk synth\` first`, { cause: error });
  }
  return readExpectations(json, file);
}

function parseBase(value: string, protocol: 'https:' | 'http:', option: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${option} ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== protocol) throw new Error(`${option} must be an ${protocol.slice(0, -1)}:// URL (got ${value})`);
  return new URL(url.origin);
}

function remoteTarget(x: Expectations, options: RunOptions & { url: string }): ConformanceTarget {
  const httpsUrl = parseBase(options.url, 'https:', '--url');
  const httpUrl = options.httpUrl ? parseBase(options.httpUrl, 'http:', '--http-url') : new URL(`http://${httpsUrl.hostname}${x.httpPort === 80 ? '' : `:${x.httpPort}`}`);
  return { httpsUrl, httpUrl, enforcesWebAcl: true };
}

async function ensureAnswers(client: ConformanceClient, target: ConformanceTarget, timeoutMs: number): Promise<void> {
  try {
    await client.send(target.httpsUrl);
  } catch (error) {
    const e = error as Error & { code?: string; cause?: { code?: string } };
    const reason = e.cause?.code ?? e.code ?? e.message;
    throw new UnreachableError(`${target.httpsUrl.origin} did not answer within ${timeoutMs / 1000} s (${reason})`);
  }
}

/** Runs the suite; resolves to the totals, or rejects with a one-line reason it could not run. */
export async function runSuite(options: RunOptions): Promise<{ passed: number; failed: number; skipped: number }> {
  const x = readTemplate(options.templateFile);
  if (options.url !== undefined) {
    const target = remoteTarget(x, { ...options, url: options.url });
    const client = new ConformanceClient({ insecure: options.insecure, timeoutMs: options.timeoutMs });
    await ensureAnswers(client, target, options.timeoutMs);
    options.print(`Conformance of ${target.httpsUrl.origin} (and ${target.httpUrl.origin}) to ${options.templateFile}\n`);
    return runConformance(x, target, client, options.onResult);
  }
  const client = new ConformanceClient({ insecure: true, timeoutMs: options.timeoutMs });
  const local = await startLocalStack(options.templateFile, x, client);
  try {
    const t = local.target;
    options.print(`Albatross local proxy on ${options.templateFile}: ${t.httpUrl.origin}  ${t.httpsUrl.origin}  admin ${t.adminUrl}`);
    options.print(`Services (sample apps, one per desired task of the template's ECS services): ${x.services.map((s) => `${s.name} ×${s.replicas}`).join(', ')}\n`);
    return await runConformance(x, t, client, options.onResult, local.knowledge);
  } finally {
    local.stop();
  }
}
