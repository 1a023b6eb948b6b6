import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildSync, version as esbuildVersion } from 'esbuild';

/** How to bundle a Node.js Lambda handler: the esbuild options `NodejsFunction` would pass. */
export interface BundleOptions {
  /** The handler's source file. */
  readonly entry: string;
  /** Directory esbuild runs in and resolves packages from (the one with package-lock.json). */
  readonly projectRoot: string;
  /** esbuild `target`, such as `node24`. */
  readonly target: string;
  /** Packages left out of the bundle (the runtime provides them). */
  readonly external: string[];
  /**
   * Whether to minify the output.
   * @default false
   */
  readonly minify?: boolean;
  /**
   * Whether to write `index.js.map` beside the bundle.
   * @default false
   */
  readonly sourceMap?: boolean;
}

/** What a cache entry was built from: the options, and every file esbuild read with its hash. */
interface Manifest {
  readonly options: string;
  readonly inputs: Record<string, string>;
}

const MANIFEST = 'manifest.json';
const BUNDLE = 'bundle';
const STAGING_PREFIX = '.building-';

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The options as a string that changes with any option and with the esbuild version. */
function optionsKey(options: BundleOptions): string {
  const { projectRoot, ...rest } = options;
  return sha256(JSON.stringify({ ...rest, entry: relative(projectRoot, resolve(options.entry)), esbuildVersion }));
}

function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** An entry is fresh when every file it was built from still has the contents it had. */
function isFresh(manifest: Manifest, key: string, projectRoot: string): boolean {
  if (manifest.options !== key) return false;
  return Object.entries(manifest.inputs).every(([file, hash]) => {
    const path = join(projectRoot, file);
    return existsSync(path) && sha256(readFileSync(path)) === hash;
  });
}

function build(options: BundleOptions, outdir: string): Record<string, string> {
  const result = buildSync({
    absWorkingDir: options.projectRoot,
    entryPoints: [relative(options.projectRoot, resolve(options.entry))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: options.target,
    outfile: join(outdir, 'index.js'),
    minify: options.minify ?? false,
    sourcemap: options.sourceMap ?? false,
    external: options.external,
    metafile: true,
    logLevel: 'warning',
  });
  const inputs: Record<string, string> = {};
  for (const file of Object.keys(result.metafile.inputs)) inputs[file] = sha256(readFileSync(join(options.projectRoot, file)));
  return inputs;
}

/**
 * Bundles a Lambda handler with esbuild into a content-addressed cache under
 * `node_modules/.cache/albatross/<name>` and returns the directory of the bundle.
 *
 * A synth whose handler sources, dependencies, options and esbuild version are unchanged reuses the
 * bundle it built before instead of bundling again: the cache entry records the hash of every file
 * esbuild read, so a change to any of them builds a new entry. esbuild's output is deterministic,
 * so the reused bundle is byte for byte the one a fresh build would write, and so is the asset
 * hash in the template.
 */
export function cachedBundle(name: string, options: BundleOptions): string {
  const cacheDir = join(options.projectRoot, 'node_modules', '.cache', 'albatross', name);
  const key = optionsKey(options);
  mkdirSync(cacheDir, { recursive: true });
  const entries = readdirSync(cacheDir).filter((entry) => !entry.startsWith(STAGING_PREFIX));
  const stale: string[] = [];
  for (const entry of entries) {
    const manifest = readManifest(join(cacheDir, entry));
    if (manifest && isFresh(manifest, key, options.projectRoot)) return join(cacheDir, entry, BUNDLE);
    stale.push(entry);
  }
  // Built from other sources or options: they cannot match this checkout again.
  for (const entry of stale) rmSync(join(cacheDir, entry), { recursive: true, force: true });
  return publish(cacheDir, options, key);
}

/**
 * Builds in a staging directory of its own and renames it into place, so a concurrent synth never
 * sees half a bundle; when another synth published the same entry first, that one is used.
 */
function publish(cacheDir: string, options: BundleOptions, key: string): string {
  const staging = mkdtempSync(join(cacheDir, STAGING_PREFIX));
  const manifest: Manifest = { options: key, inputs: build(options, join(staging, BUNDLE)) };
  writeFileSync(join(staging, MANIFEST), JSON.stringify(manifest, undefined, 1));
  const final = join(cacheDir, sha256(JSON.stringify(manifest)).slice(0, 16));
  try {
    renameSync(staging, final);
  } catch (error) {
    if (!existsSync(join(final, MANIFEST))) throw error;
    rmSync(staging, { recursive: true, force: true });
  }
  return join(final, BUNDLE);
}
