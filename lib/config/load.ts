import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG, DEFAULT_SERVICE } from './defaults';
import { AlbatrossConfig, ConfigOverrides } from './schema';
import { ConfigError, validateConfig } from './validate';

/** The context key that holds the configuration object in cdk.json. */
export const CONFIG_CONTEXT_KEY = 'albatross';

/** Reads context values; matches `Node.tryGetContext` so the CDK app can pass `app.node`. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `override` into `base`: objects key by key, arrays and scalars replaced whole. */
export function deepMerge<T>(base: T, override: unknown): T {
  if (!isObject(base) || !isObject(override)) return (override === undefined ? base : override) as T;
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = key in merged ? deepMerge(merged[key], value) : value;
  }
  return merged as T;
}

/** Sets `value` at a dotted path such as `loadBalancer.idleTimeoutSeconds`. */
function setPath(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]] = value;
}

/** `-c albatross.x=5` arrives as the string "5": read JSON where it parses, else keep the string. */
function parseContextValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function readConfigFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new ConfigError([`configFile ${JSON.stringify(path)} cannot be read: ${(error as Error).message}`]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new Error('the top level must be an object');
    return parsed;
  } catch (error) {
    throw new ConfigError([`configFile ${JSON.stringify(path)} is not valid JSON: ${(error as Error).message}`]);
  }
}

/**
 * Merges the configured services over the default ones. A service may name only the settings that
 * differ (`{"api": {"image": "my/api:1.2"}}`); a new name starts from `DEFAULT_SERVICE`; `null`
 * removes a default service. Anything but an object is passed on for the schema to reject.
 */
function mergeServices(services: unknown): unknown {
  if (services === undefined) return DEFAULT_CONFIG.services;
  if (!isObject(services)) return services;
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG.services };
  for (const [name, service] of Object.entries(services)) {
    if (service === null) {
      delete merged[name];
    } else {
      merged[name] = deepMerge(DEFAULT_CONFIG.services[name] ?? DEFAULT_SERVICE, service);
    }
  }
  return merged;
}

/**
 * Builds the validated configuration from, in increasing precedence: the defaults, the
 * `albatross` object in cdk.json context, a JSON file named by `albatross.configFile`, and single
 * `-c albatross.<dotted.path>=<value>` overrides.
 */
export function loadConfig(context: ContextSource, contextKeys: string[] = []): AlbatrossConfig {
  const fromContext = context.tryGetContext(CONFIG_CONTEXT_KEY);
  if (fromContext !== undefined && !isObject(fromContext)) {
    throw new ConfigError([`context "${CONFIG_CONTEXT_KEY}" must be an object (got ${JSON.stringify(fromContext)})`]);
  }
  let merged: Json = deepMerge<Json>({}, fromContext ?? {});
  const configFile = context.tryGetContext(`${CONFIG_CONTEXT_KEY}.configFile`) ?? merged.configFile;
  if (typeof configFile === 'string' && configFile.length > 0) merged = deepMerge(merged, readConfigFile(configFile));
  delete merged.configFile;
  for (const key of contextKeys) {
    if (!key.startsWith(`${CONFIG_CONTEXT_KEY}.`) || key === `${CONFIG_CONTEXT_KEY}.configFile`) continue;
    setPath(merged, key.split('.').slice(1), parseContextValue(context.tryGetContext(key)));
  }
  return buildConfig(merged as ConfigOverrides);
}

/**
 * Applies a partial configuration over the defaults and validates the result. Objects merge key by
 * key (services by name; the default action is replaced whole), so an unknown key reaches the
 * schema and is reported; a value of the wrong shape replaces its default whole and is reported too.
 */
export function buildConfig(partial: ConfigOverrides = {}): AlbatrossConfig {
  const { services, defaultAction, ...rest } = partial as Json;
  const merged = deepMerge<unknown>(DEFAULT_CONFIG, rest);
  // An action is replaced whole: merged key by key, a forward would keep the default's services.
  return validateConfig({ ...(merged as Json), services: mergeServices(services), defaultAction: defaultAction ?? DEFAULT_CONFIG.defaultAction });
}
