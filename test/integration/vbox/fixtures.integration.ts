// The envelopes the unit tests replay were recorded from this real server: this test records
// them again and fails when the server's answers drift from the committed fixtures.
// `bash scripts/record-vbox-fixtures.sh` (BOXFEST_RECORD_VBOX_FIXTURES=1) rewrites them.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { withWebsession } from '../../../src/providers/virtualbox/invoke.js';
import { normalizeRefs, scenario, withoutPendingPolls, type Exchange } from '../../fixtures/vbox/scenario.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/vbox/7_2');
const record = process.env['BOXFEST_RECORD_VBOX_FIXTURES'] === '1';

describe.skipIf(inject('vboxSkipped'))('recorded SOAP envelopes', () => {
  const home = mkdtempSync(join(tmpdir(), 'boxfest-vbox-rec-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('the real server still answers as the committed fixtures say', async () => {
    const exchanges: Exchange[] = [];
    const result = await withWebsession(
      {
        home,
        url: inject('vboxUrl'),
        user: '',
        password: '',
        onExchange: (op, request, response) => exchanges.push({ op, request, response }),
      },
      scenario,
    );
    const refs = new Map<string, string>();
    const normalized = withoutPendingPolls(exchanges).map((x) => ({
      op: x.op,
      request: normalizeRefs(x.request, refs),
      response: normalizeRefs(x.response, refs),
    }));
    expect(result.api).toBe('7_2');
    if (record) {
      rmSync(FIXTURES, { recursive: true, force: true });
      mkdirSync(FIXTURES, { recursive: true });
      const cache = join(home, 'cache', 'virtualbox-wsdl');
      const dir = readdirSync(cache).find((d) => d.startsWith('7_2-'))!;
      for (const f of ['vboxweb.wsdl', 'vboxwebService.wsdl', 'signatures.json'])
        cpSync(join(cache, dir, f), join(FIXTURES, f));
      writeFileSync(join(FIXTURES, 'exchanges.json'), JSON.stringify(normalized, null, 1) + '\n');
      writeFileSync(join(FIXTURES, 'result.json'), JSON.stringify(result, null, 1) + '\n');
    }
    const committed = JSON.parse(readFileSync(join(FIXTURES, 'exchanges.json'), 'utf8')) as Exchange[];
    expect(normalized.map((x) => x.op)).toEqual(committed.map((x) => x.op));
    expect(normalized).toEqual(committed);
    expect(JSON.parse(JSON.stringify(result))).toEqual(
      JSON.parse(readFileSync(join(FIXTURES, 'result.json'), 'utf8')),
    );
  });
});
