import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { forgetProject, readIndex, registerProject } from '../../../src/state/index.js';
import { projectIndexEntry } from '../../../src/state/paths.js';
import { tempDir } from '../helpers.js';

describe('the global project index', () => {
  it('registers each project once, lists them by root, and forgets one', () => {
    const home = tempDir();
    registerProject(home, '/work/b', 'b');
    registerProject(home, '/work/a', 'a');
    const first = readFileSync(projectIndexEntry(home, '/work/a'), 'utf8');
    registerProject(home, '/work/a', 'a'); // idempotent: the entry is not rewritten
    expect(readFileSync(projectIndexEntry(home, '/work/a'), 'utf8')).toBe(first);
    const entries = readIndex(home);
    expect(entries.map((e) => [e.entry.root, e.entry.name])).toEqual([
      ['/work/a', 'a'],
      ['/work/b', 'b'],
    ]);
    forgetProject(entries[0]!.file);
    expect(existsSync(projectIndexEntry(home, '/work/a'))).toBe(false);
    expect(readIndex(home).map((e) => e.entry.root)).toEqual(['/work/b']);
  });

  it('an empty home has no projects', () => {
    expect(readIndex(tempDir())).toEqual([]);
  });
});
