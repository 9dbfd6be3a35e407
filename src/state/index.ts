// The global index of projects under the boxfest home, for `global-status`: one small file per
// project, written once when `up` first works there, pruned when the project has no machines left.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from './atomic.js';
import { homePaths, projectIndexEntry } from './paths.js';

export interface IndexEntry {
  root: string;
  name: string;
  registeredAt: string;
}

/** Idempotent: an existing entry is left alone, so a no-op `up` writes nothing. */
export function registerProject(home: string, root: string, name: string): void {
  const file = projectIndexEntry(home, root);
  if (existsSync(file)) return;
  writeJsonAtomic(file, { root, name, registeredAt: new Date().toISOString() } satisfies IndexEntry);
}

export function readIndex(home: string): { file: string; entry: IndexEntry }[] {
  const dir = homePaths(home).projects;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      const file = join(dir, f);
      try {
        const entry = readJson<IndexEntry>(file);
        if (entry === undefined) return [];
        // Written by boxfest; anything else in there is pruned like an unreadable entry.
        if (typeof entry.root !== 'string' || typeof entry.name !== 'string') throw new Error('not an entry');
        return [{ file, entry }];
      } catch {
        return [{ file, entry: { root: '', name: '', registeredAt: '' } }]; // unreadable: pruned
      }
    })
    .sort((a, b) => (a.entry.root < b.entry.root ? -1 : a.entry.root > b.entry.root ? 1 : 0));
}

export function forgetProject(file: string): void {
  rmSync(file, { force: true });
}
