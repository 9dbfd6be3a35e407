// The config module's entry point: Boxfile.yaml on disk → a checked, defaulted Environment.
// Load → validate the written shape → fill defaults → semantic rules; the first stage that
// finds problems throws them all at once as a ConfigError, sorted by position.

import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { fillDefaults } from './defaults.js';
import { findBoxfile, readBoxfile } from './find.js';
import { loadBoxfile } from './load.js';
import { checkRules, sortIssues, validateWritten } from './validate.js';
import type { FsCheck } from './validate.js';
import type { PathKind } from './rules/context.js';
import type { Vars } from './interpolate.js';
import type { Environment } from './types.js';
import { CAPABILITIES } from '../providers/capabilities.js';
import type { Capabilities } from '../providers/capabilities.js';

export { fillDefaults, projectName, BUILTIN } from './defaults.js';
export type { DefaultsContext } from './defaults.js';
export { findBoxfile, BOXFILE_NAME } from './find.js';
export { formatPath, loadBoxfile } from './load.js';
export type { KeyPath, LoadResult, Position } from './load.js';
export { checkRules, validateWritten } from './validate.js';
export type { FsCheck } from './validate.js';
export type { PathKind } from './rules/context.js';
export { interpolate } from './interpolate.js';
export type { Vars } from './interpolate.js';
export { schemaMarkdown } from './schema-doc.js';

export interface CheckOptions {
  /** Where `${VAR}` reads from. readEnvironment() passes process.env; tests pass their own. */
  vars?: Vars;
  /** What the provider can do; default: the real table for the Boxfile's provider. */
  capabilities?: Capabilities;
}

/**
 * Finds, reads and checks the Boxfile for `cwd`. Throws ConfigError listing every problem.
 * The one place the config layer reads the process environment.
 */
export function readEnvironment(cwd: string, options: CheckOptions = {}): Environment {
  const file = findBoxfile(cwd);
  const text = readBoxfile(file);
  return loadEnvironmentFromText(
    text,
    file,
    dirname(file),
    { exists: (p) => pathKind(p) !== undefined, kind: pathKind, realpath: realpathOf },
    {
      vars: process.env,
      ...options,
    },
  );
}

function realpathOf(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** What a host path is, following symlinks (a synced folder may be a link to a directory). */
function pathKind(path: string): PathKind | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
  } catch {
    return undefined;
  }
}

/** readEnvironment() minus the disk: for tests and for checking text before it is written. */
export function loadEnvironmentFromText(
  text: string,
  file: string,
  root: string,
  fsCheck: FsCheck,
  options: CheckOptions = {},
): Environment {
  const load = loadBoxfile(text, file, options.vars ?? {});
  // Later stages assume the earlier ones passed, so stop at the first stage with problems.
  if (load.issues.length > 0) throw new ConfigError(sortIssues(load.issues));
  const schemaIssues = validateWritten(load);
  if (schemaIssues.length > 0 || load.written === undefined) throw new ConfigError(schemaIssues);
  const env = fillDefaults(load.written, {
    file,
    root,
    machineOrder: load.machineOrder,
    interpolatedEnv: load.interpolatedEnv,
    libvirtDefaultUri: options.vars?.['LIBVIRT_DEFAULT_URI'],
  });
  const ruleIssues = checkRules(env, load, fsCheck, options.capabilities ?? CAPABILITIES[env.provider]);
  if (ruleIssues.length > 0) throw new ConfigError(ruleIssues);
  return env;
}
