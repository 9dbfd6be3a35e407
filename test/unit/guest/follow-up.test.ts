// A follow-up runs last in its command, keeps its own output out of the command's, and reports
// only its success: run by a real sh.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { followUpDone, followUpLines, isFollowUpLine } from '../../../src/guest/follow-up.js';

describe('followUpLines', () => {
  it.each<[string, string | undefined, boolean]>([
    ['succeeds', 'echo noise; true', true],
    ['fails', 'echo noise; false', false],
    ['fails part way', 'false\necho after', true], // a follow-up is a script: its last command decides
    ['absent', undefined, false],
  ])('a follow-up that %s', (_, then, done) => {
    const script = ['echo own-output', ...followUpLines(then), 'echo still-runs'].join('\n');
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    // The command's own lines, in order; the follow-up's output never reaches the caller.
    expect(lines.filter((l) => !isFollowUpLine(l))).toEqual(['own-output', 'still-runs']);
    expect(followUpDone(r.stdout)).toBe(done);
    expect(followUpLines(then).length).toBe(then === undefined ? 0 : 1);
  });

  it('only a line of its own counts', () => {
    expect(followUpDone('x then-done\n')).toBe(false);
    expect(followUpDone('a\nthen-done\n')).toBe(true);
  });
});
