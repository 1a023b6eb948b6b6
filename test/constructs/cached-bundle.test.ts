/** The drain Lambda's bundle cache, on a throwaway project: reused while its inputs are unchanged. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleOptions, cachedBundle } from '../../constructs/cached-bundle';

let project: string;
let options: BundleOptions;

function write(file: string, text: string): void {
  mkdirSync(join(project, file, '..'), { recursive: true });
  writeFileSync(join(project, file), text);
}

const bundled = (dir: string) => readFileSync(join(dir, 'index.js'), 'utf8');
const entries = () => readdirSync(join(project, 'node_modules', '.cache', 'albatross', 'fn'));

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'albatross-bundle-'));
  write('handler.ts', "import { greeting } from './greeting';\nexport const handler = async (): Promise<string> => greeting;\n");
  write('greeting.ts', "export const greeting: string = 'hello';\n");
  options = { entry: join(project, 'handler.ts'), projectRoot: project, target: 'node24', external: [], sourceMap: true };
});

afterEach(() => rmSync(project, { recursive: true, force: true }));

test('bundles the entry with what it imports, and a source map', () => {
  const dir = cachedBundle('fn', options);
  expect(bundled(dir)).toContain('"hello"');
  expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
});

test('a second synth with unchanged inputs reuses the bundle without writing it again', () => {
  const first = cachedBundle('fn', options);
  const written = statSync(join(first, 'index.js')).mtimeMs;
  const second = cachedBundle('fn', options);
  expect(second).toBe(first);
  expect(statSync(join(second, 'index.js')).mtimeMs).toBe(written);
});

test('a changed import, or changed options, builds a new bundle and drops the stale one', () => {
  const first = cachedBundle('fn', options);
  write('greeting.ts', "export const greeting: string = 'bonjour';\n");
  const second = cachedBundle('fn', options);
  expect(second).not.toBe(first);
  const plain = bundled(second);
  expect(plain).toContain('"bonjour"');
  expect(entries()).toHaveLength(1);
  const minified = cachedBundle('fn', { ...options, minify: true });
  expect(minified).not.toBe(second);
  expect(bundled(minified).length).toBeLessThan(plain.length);
  expect(entries()).toHaveLength(1);
});

test('the same inputs give the same bytes when built again from scratch (deterministic asset hash)', () => {
  const first = bundled(cachedBundle('fn', options));
  rmSync(join(project, 'node_modules'), { recursive: true, force: true });
  expect(bundled(cachedBundle('fn', options))).toBe(first);
});
