// The validation cache (a mark per Boxfile that passed the schema, so a no-op `up` skips ajv)
// must key on the exact document: a file must never pass because a different one did.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boxfest, sandbox } from './harness.js';

describe('the validation cache', () => {
  it.each([
    [
      '.nan after null (JSON writes both as null)',
      'web: ~',
      'web: .nan',
      '4:8 machines.web: NaN is not a mapping',
    ],
    ['.inf after null', 'web: ~', 'web: .inf', '4:8 machines.web: Infinity is not a mapping'],
    [
      'the same text with another ${VAR} value',
      'web:\n    cpus: ${N}',
      'web:\n    cpus: ${N}',
      '5:11 machines.web.cpus: 99 (from `${N}`) is above 64',
    ],
  ])('%s', async (_, first, second, issue) => {
    const s = sandbox();
    const file = join(s.project, 'Boxfile.yaml');
    process.env['N'] = '2';
    writeFileSync(file, `version: 1\ndefaults: { box: tiny }\nmachines:\n  ${first}\n`);
    expect((await boxfest(s.project, 'validate')).code).toBe(0);
    process.env['N'] = '99';
    writeFileSync(file, `version: 1\ndefaults: { box: tiny }\nmachines:\n  ${second}\n`);
    const r = await boxfest(s.project, 'validate', '--json');
    delete process.env['N'];
    expect(r.code).toBe(1);
    const { error } = JSON.parse(r.stdout) as {
      error: { issues: { line: number; column: number; path: string; message: string }[] };
    };
    expect(error.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`)).toEqual([issue]);
  });
});
