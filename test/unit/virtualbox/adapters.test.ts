// The version adapters and the choke point against envelopes recorded from a real vboxwebsrv 7.2
// (test/fixtures/vbox/7_2, re-recorded by scripts/record-vbox-fixtures.sh). A local HTTP server
// replays the recorded responses in order; every request boxfest sends must be byte-identical to
// the one the real server accepted.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterFor } from '../../../src/providers/virtualbox/adapters/index.js';
import { v6_1 } from '../../../src/providers/virtualbox/adapters/v6_1.js';
import { v7_0 } from '../../../src/providers/virtualbox/adapters/v7_0.js';
import { v7_1, v7_2 } from '../../../src/providers/virtualbox/adapters/v7_1.js';
import { orderArgs, withWebsession } from '../../../src/providers/virtualbox/invoke.js';
import { OPERATIONS_KEY } from '../../../src/providers/virtualbox/soap/client.js';
import { OPERATIONS } from '../../../src/providers/virtualbox/soap/operations.js';
import { trimWsdl, type Signature } from '../../../src/providers/virtualbox/soap/trim.js';
import { writeJsonAtomic } from '../../../src/state/atomic.js';
import { vboxWsdlPaths } from '../../../src/providers/virtualbox/paths.js';
import { scenario, type Exchange } from '../../fixtures/vbox/scenario.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/vbox/7_2');
const exchanges = JSON.parse(readFileSync(join(FIXTURES, 'exchanges.json'), 'utf8')) as Exchange[];
const signatures = JSON.parse(readFileSync(join(FIXTURES, 'signatures.json'), 'utf8')) as Record<
  string,
  Signature
>;

describe('replaying the recorded 7.2 envelopes', () => {
  let server: Server;
  let url: string;
  let home: string;
  const sent: { op: string; body: string }[] = [];

  beforeAll(async () => {
    let next = 0;
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const op = /<vbox:([A-Za-z0-9_]+)/.exec(body)?.[1] ?? '?';
        sent.push({ op, body });
        const x = exchanges[next++];
        const fault = x?.response.includes('SOAP-ENV:Fault') === true;
        res.writeHead(fault ? 500 : 200, { 'Content-Type': 'text/xml; charset=utf-8' });
        res.end(x?.op === op ? x.response : '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/`;
    // A boxfest home whose WSDL cache holds the recorded, trimmed 7.2 WSDL for this URL.
    home = mkdtempSync(join(tmpdir(), 'boxfest-vbox-unit-'));
    const paths = vboxWsdlPaths(home);
    mkdirSync(paths.version('7_2', OPERATIONS_KEY), { recursive: true });
    for (const f of ['vboxweb.wsdl', 'vboxwebService.wsdl', 'signatures.json'])
      cpSync(join(FIXTURES, f), join(paths.version('7_2', OPERATIONS_KEY), f));
    writeJsonAtomic(paths.index, { [url]: '7_2' });
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(home, { recursive: true, force: true });
  });

  it('sends exactly the requests the real server accepted and parses its answers', async () => {
    const result = await withWebsession({ home, url, user: '', password: '' }, scenario);
    expect(sent.map((x) => x.op)).toEqual(exchanges.map((x) => x.op));
    for (const [i, x] of exchanges.entries()) expect(sent[i]?.body, x.op).toBe(x.request);
    // unsignedInt comes back as a number, arrays as arrays, the fault and the failed launch typed.
    expect(result).toEqual(JSON.parse(readFileSync(join(FIXTURES, 'result.json'), 'utf8')));
    expect(result.memory).toBe(384);
    expect(result.missingMachine.code).toBe('VBOX_E_OBJECT_NOT_FOUND');
    expect(result.launch.code).toBe('VBOX_NO_KERNEL_DRIVER');
    expect(result.detachedMedia).toEqual([]);
  });

  it('sends createMachine with 7.1’s platform right after name, as the 7.2 server wants it', () => {
    const sent = exchanges.find((x) => x.op === 'IVirtualBox_createMachine')!.request;
    expect(sent).toMatch(
      /<name>boxfest-fixture-web<\/name><platform>x86<\/platform><groups>\/boxfest<\/groups>/,
    );
  });
});

describe('version adapters', () => {
  const m = { name: 'vm', osTypeId: 'Linux_64', flags: '', groups: ['/boxfest'] };

  it.each([
    ['6_1', v6_1, ['_this', 'settingsFile', 'name', 'groups', 'osTypeId', 'flags']],
    [
      '7_0',
      v7_0,
      ['_this', 'settingsFile', 'name', 'groups', 'osTypeId', 'flags', 'cipher', 'passwordId', 'password'],
    ],
    [
      '7_1',
      v7_1,
      [
        '_this',
        'settingsFile',
        'name',
        'platform',
        'groups',
        'osTypeId',
        'flags',
        'cipher',
        'passwordId',
        'password',
      ],
    ],
    [
      '7_2',
      v7_2,
      [
        '_this',
        'settingsFile',
        'name',
        'platform',
        'groups',
        'osTypeId',
        'flags',
        'cipher',
        'passwordId',
        'password',
      ],
    ],
  ])('%s: createMachine parameters in that version’s order', (api, adapter, keys) => {
    expect(adapterFor(api)).toBe(adapter);
    expect(Object.keys(adapter.createMachine('ref', m))).toEqual(keys);
  });

  it.each([v6_1, v7_0, v7_1, v7_2])('$api: launchVMProcess takes environmentChanges[]', (adapter) => {
    expect(adapter.launchVMProcess('m', 's', 'headless', ['A=1'])).toEqual({
      _this: 'm',
      session: 's',
      name: 'headless',
      environmentChanges: ['A=1'],
    });
  });

  it('the 7.2 server’s own signature accepts the 7.2 adapter and refuses the 7.0 one', () => {
    const sig = signatures['IVirtualBox_createMachine']!;
    expect(Object.keys(orderArgs('IVirtualBox_createMachine', sig, v7_2.createMachine('r', m)))).toEqual(
      sig.params.map((p) => p.name),
    );
    expect(() => orderArgs('IVirtualBox_createMachine', sig, v7_0.createMachine('r', m))).toThrow(
      /needs parameter `platform`/,
    );
  });

  it('orders arguments by the WSDL sequence, not by object key order', () => {
    const sig = signatures['INATEngine_addRedirect']!;
    const args = {
      guestPort: 22,
      _this: 'n',
      hostPort: 2222,
      name: 'ssh',
      guestIP: '',
      hostIP: '127.0.0.1',
      proto: 'TCP',
    };
    expect(Object.keys(orderArgs('INATEngine_addRedirect', sig, args))).toEqual([
      '_this',
      'name',
      'proto',
      'hostIP',
      'hostPort',
      'guestIP',
      'guestPort',
    ]);
  });

  it.each(['5_2', '6_0', '8_0', 'garbage'])('refuses API %s with a clear message', (api) => {
    const shown = api === 'garbage' ? '"garbage"' : api.replace('_', '.');
    expect(() => adapterFor(api)).toThrow(`unsupported VirtualBox API ${shown}`);
  });
});

describe('trimWsdl', () => {
  it('keeps the recorded operations and their sequences when trimming the trimmed WSDL again', () => {
    const again = trimWsdl(readFileSync(join(FIXTURES, 'vboxweb.wsdl'), 'utf8'), OPERATIONS);
    for (const [op, sig] of Object.entries(signatures)) expect(again.signatures[op]).toEqual(sig);
    expect(again.service).toContain('<wsdl:import location="vboxweb.wsdl"');
  });

  it('says which operations the server lacks', () => {
    const t = trimWsdl(readFileSync(join(FIXTURES, 'vboxweb.wsdl'), 'utf8'), [
      'IVirtualBox_getVersion',
      'IConsole_teleport',
    ]);
    expect(t.missing).toEqual(['IConsole_teleport']);
    expect(Object.keys(t.signatures)).toEqual(['IVirtualBox_getVersion']);
  });
});
