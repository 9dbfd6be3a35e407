// What the hostile-input tests share: a sandbox per test (a project, its own boxfest home, and
// an `outside` directory standing for everything else on the host: another project, a user's
// files), the real CLI entry point run in process, and a fingerprint of a directory tree that
// proves nothing outside the test's own directories changed.
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, expect, vi } from 'vitest';
import { main } from '../../../src/cli.js';

export interface Sandbox {
  base: string;
  project: string;
  home: string;
  outside: string;
}

const sandboxes: Sandbox[] = [];
const homeBefore = process.env['BOXFEST_HOME'];
afterEach(() => {
  vi.restoreAllMocks();
  process.env['BOXFEST_HOME'] = homeBefore;
  for (const s of sandboxes.splice(0)) rmSync(s.base, { recursive: true, force: true });
});

/**
 * A fresh sandbox: `files` (paths relative to the sandbox: `project/Boxfile.yaml`,
 * `outside/precious.txt`) written, BOXFEST_HOME pointed at its `home`.
 */
export function sandbox(files: Record<string, string> = {}): Sandbox {
  const base = mkdtempSync(join(tmpdir(), 'boxfest-hostile-'));
  const s = {
    base,
    project: join(base, 'project'),
    home: join(base, 'home'),
    outside: join(base, 'outside'),
  };
  for (const d of [s.project, s.home, s.outside]) mkdirSync(d);
  // Something worth losing, outside the project: a file and another project's machine.
  write(s.outside, 'precious.txt', 'the only copy\n');
  write(s.outside, '.boxfest/machines/web/state.json', '{"another":"project"}\n');
  write(s.outside, '.boxfest/machines/web/disk.qcow2', 'not yours\n');
  for (const [path, text] of Object.entries(files)) write(s.base, path, text);
  process.env['BOXFEST_HOME'] = s.home;
  sandboxes.push(s);
  return s;
}

export function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** boxfest ARGV in `cwd`, through the real entry point; output captured. */
export async function boxfest(cwd: string, ...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((t) => ((stdout += String(t)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((stderr += String(t)), true));
  try {
    const code = await main(argv, cwd, 'linux');
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Every entry under `dir` (never following a link) with its type and content: equal means unchanged. */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const path = join(dir, rel);
    const st = lstatSync(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(path)}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${mode}`;
      for (const e of readdirSync(path).sort()) walk(rel === '' ? e : join(rel, e));
    } else if (st.isFile())
      out[rel] = `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`;
    else out[rel] = `other ${mode}`;
  };
  walk('');
  return out;
}

/** No internal error and no stack trace, whatever happened. */
export function expectNoCrash(r: Run): void {
  expect(r.stderr + r.stdout).not.toMatch(/internal error|This is a bug|\n\s+at .*\(.*:\d+:\d+\)/);
}
