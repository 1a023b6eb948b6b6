/**
 * Settings an older release had, by the section (schema) that had them. An unknown key that is one
 * of them gets its migration hint instead of a spelling suggestion.
 */

import type { z } from 'zod';
import type { ProblemText } from './checks';

export const retiredSettings = new WeakMap<z.core.$ZodType, Readonly<Record<string, Exclude<ProblemText, string>>>>();
