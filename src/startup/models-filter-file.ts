/**
 * `--models-filter PATH` for a file that does not exist yet: it is created with a short guide
 * and no entries (so every model is served) for the user to edit while the gateway runs. A
 * folder that does not exist, or a file that exists but cannot be read, stays a configuration
 * error.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GatewayError } from '../errors.js';

export const MODELS_FILTER_GUIDE = `# Which models ollama-bridge serves. Edit this file while the gateway runs: changes apply
# within about a second, no restart needed.
#
# One entry per line; '#' starts a comment. An entry is an exact id (openai/gpt-4o), a short
# name from any vendor (gpt-4o), or a glob (anthropic/*, *:free). A leading '!' excludes.
# The last entry that matches a model decides; a model no entry matches is served only while
# the file has no including entry at all. Matching ignores case and a ':latest' tag.
#
# This file has no entries yet, so EVERY model is served. Examples (remove the '# '):
# openai/gpt-4o
# anthropic/*
# *:free
# !*-distill-*
`;

export interface FilterFileOutcome {
  /** The absolute path. */
  path: string;
  /** True when the file did not exist and was created with the guide. */
  created: boolean;
}

export function ensureModelsFilterFile(path: string): FilterFileOutcome {
  const absolute = resolve(path);
  if (existsSync(absolute)) {
    if (statSync(absolute).isDirectory()) throw new GatewayError('CONFIG_INVALID', `the models filter ${absolute} is a folder; name a file`);
    try {
      accessSync(absolute, constants.R_OK);
    } catch (error) {
      throw new GatewayError('CONFIG_INVALID', `cannot read the models filter file ${absolute}: ${(error as Error).message}`);
    }
    return { path: absolute, created: false };
  }
  const folder = dirname(absolute);
  if (!existsSync(folder)) {
    throw new GatewayError('CONFIG_INVALID', `cannot create the models filter file ${absolute}: the folder ${folder} does not exist`);
  }
  try {
    writeFileSync(absolute, MODELS_FILTER_GUIDE, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { path: absolute, created: false };
    throw new GatewayError('CONFIG_INVALID', `cannot create the models filter file ${absolute}: ${(error as Error).message}`);
  }
  return { path: absolute, created: true };
}
