// The hostile Boxfile corpus (corpus.ts) through the real CLI: `boxfest validate --json` in a
// sandbox. Each case gets exactly its issues (or, when valid, what it means), never an internal
// error, and nothing outside the sandbox's home changes: not the project (no .boxfest/ is made),
// not the directory beside it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnvironment } from '../../../src/config/index.js';
import { loadSchema } from '../../../src/config/validate.js';
import { corpus, wrongTypes, type Case } from './corpus.js';
import { EXPECTED } from './expected.js';
import { boxfest, expectNoCrash, fingerprint, sandbox, write } from './harness.js';

interface Issue {
  line: number;
  column: number;
  path: string;
  message: string;
  hint?: string;
}

/** What validate --json says: the issues as lines, or `CODE: message` for another error, or 'valid'. */
async function validate(c: Case): Promise<{ said: string[]; printed: string }> {
  const s = sandbox();
  const file = join(s.project, 'Boxfile.yaml');
  for (const [path, text] of Object.entries(c.files ?? {})) write(s.project, path, text);
  if (typeof c.text === 'function') c.text(file);
  else writeFileSync(file, c.text);
  const saved = Object.fromEntries(Object.keys(c.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, c.env);
  try {
    const project = fingerprint(s.project);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'validate', '--json');
    expectNoCrash(r);
    expect(fingerprint(s.project)).toEqual(project);
    expect(fingerprint(s.outside)).toEqual(outside);
    const printed = r.stdout + r.stderr;
    const doc = JSON.parse(r.stdout) as {
      valid?: boolean;
      error?: { code: string; message: string; issues?: Issue[] };
    };
    if (doc.valid === true) {
      expect(r.code).toBe(0);
      c.ok?.(readEnvironment(s.project));
      return { said: ['valid'], printed };
    }
    expect(r.code).toBe(1);
    const e = doc.error!;
    const said =
      e.issues === undefined
        ? [`${e.code}: ${e.message.replaceAll(s.project, '{project}')}`]
        : e.issues.map(
            (i) =>
              `${i.line}:${i.column} ${i.path}: ${i.message}${i.hint === undefined ? '' : ` (${i.hint})`}`,
          );
    return { said, printed };
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

const DUMP = process.env['BOXFEST_DUMP_CORPUS'];
const dumped: Record<string, string[]> = {};
const expected = (name: string): string[] => {
  // 300 unknown keys: one issue each, in file order (lines 5 to 304), listing a machine's keys.
  if (name === '300 unknown keys') {
    const keys = Object.keys(
      (loadSchema() as { $defs: { machine: { properties: object } } }).$defs.machine.properties,
    );
    return Array.from(
      { length: 300 },
      (_, i) =>
        `${i + 5}:5 machines.web.unknown${i}: unknown key \`unknown${i}\` (allowed keys here: ${keys.join(', ')})`,
    );
  }
  const want = EXPECTED[name];
  if (want === undefined) throw new Error(`no expected answer for case ${name}`);
  return want;
};

for (const [group, cases] of corpus)
  describe(group, () => {
    it.each(cases)('$name', async (c) => {
      const { said, printed } = await validate(c);
      if (DUMP !== undefined) {
        dumped[c.name] = said;
        writeFileSync(DUMP, JSON.stringify(dumped, null, 1));
      }
      expect(said).toEqual(expected(c.name));
      for (const secret of c.never ?? []) expect(printed).not.toContain(secret);
    });
  });

describe("every key's wrong type", () => {
  it.each(wrongTypes)('$name', async (c) => {
    const { said } = await validate({ name: c.name, text: c.text });
    if (DUMP !== undefined) {
      dumped[c.name] = said;
      writeFileSync(DUMP, JSON.stringify(dumped, null, 1));
    }
    expect(said).toEqual(expected(c.name));
    // The position is the value's own: after `key: ` on its line.
    const line = c.text.split('\n')[c.line - 1]!;
    const key = c.path.split('.').at(-1)!;
    expect(said[0]).toMatch(new RegExp(`^${c.line}:${line.indexOf(`${key}: ${c.value}`) + key.length + 3} `));
  });
});

it('the corpus has at least 100 hostile Boxfiles', () => {
  expect(corpus.flatMap(([, cases]) => cases).length + wrongTypes.length).toBeGreaterThanOrEqual(100);
});
