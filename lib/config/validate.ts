import { problemLines } from './problems';
import { AlbatrossConfig, albatrossConfigSchema } from './schema';

/** Thrown when the configuration is invalid; the message lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Albatross configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Checks a complete configuration (the defaults merged with what the user set) against the ranges
 * AWS accepts and the rules of this project, and returns it parsed. Throws a {@link ConfigError}
 * naming each bad field and its allowed range, unknown keys with the nearest known one, and values
 * of the wrong shape with the shape expected.
 */
export function validateConfig(config: unknown): AlbatrossConfig {
  const result = albatrossConfigSchema.safeParse(config);
  if (!result.success) throw new ConfigError(problemLines(albatrossConfigSchema, result.error.issues));
  return result.data;
}
