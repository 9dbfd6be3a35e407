// Shared by the config tests: run the whole config pipeline on inline text and show each issue
// as one line, `line:column path: message (hint)`, so tables can assert exact output.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import type { ConfigIssue } from '../../../src/errors.js';
import { loadEnvironmentFromText } from '../../../src/config/index.js';
import type { CheckOptions, FsCheck } from '../../../src/config/index.js';
import type { Capabilities } from '../../../src/providers/capabilities.js';
import type { Environment } from '../../../src/config/types.js';

export const ROOT = '/proj';
export const FILE = '/proj/Boxfile.yaml';

/** A host where only `paths` exist. */
export function fakeFs(...paths: string[]): FsCheck {
  const set = new Set(paths);
  return { exists: (p) => set.has(p) };
}

export function show(issue: ConfigIssue): string {
  const hint = issue.hint === undefined ? '' : ` (${issue.hint})`;
  return `${issue.line}:${issue.column} ${issue.path}: ${issue.message}${hint}`;
}

/** A provider that can do everything: for testing the rules behind capability checks. */
export const PERMISSIVE: Capabilities = {
  privateNetworks: true,
  bridgedNetworks: true,
  macAddresses: true,
  forwardedPorts: true,
  diskResize: true,
  dataDisks: true,
  cloudInit: true,
  boxVersions: true,
  manualStart: true,
  guestSshPort: true,
  instantUp: true,
  sharedFolders: ['virtiofs', '9p'],
  settings: ['accel', 'restrict_network', 'disk_interface', 'extra_args'],
};

/** The issues the pipeline throws for `text`, shown; [] if it loads. */
export function problems(
  text: string,
  fs: FsCheck = fakeFs(),
  root = ROOT,
  options: CheckOptions = {},
): string[] {
  try {
    loadEnvironmentFromText(text, join(root, 'Boxfile.yaml'), root, fs, options);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const issue of e.issues) {
      if (issue.file !== join(root, 'Boxfile.yaml')) throw new Error(`issue with wrong file: ${show(issue)}`);
    }
    return e.issues.map(show);
  }
}

export function environment(
  text: string,
  fs: FsCheck = fakeFs(),
  root = ROOT,
  options: CheckOptions = { capabilities: PERMISSIVE },
): Environment {
  return loadEnvironmentFromText(text, join(root, 'Boxfile.yaml'), root, fs, options);
}

/** A fresh temp dir per call, removed after the current test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-config-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Joins lines so YAML fixtures can be written without template-literal indentation games. */
export function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}
