// The SOAP client against the real server: the trimmed WSDL is cached per API version, a cache
// from another version (the server was upgraded) is replaced, and an unreachable server is named.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { withWebsession } from '../../../src/providers/virtualbox/invoke.js';
import { OPERATIONS_KEY } from '../../../src/providers/virtualbox/soap/client.js';
import { writeJsonAtomic } from '../../../src/state/atomic.js';
import { vboxWsdlPaths } from '../../../src/providers/virtualbox/paths.js';

describe.skipIf(inject('vboxSkipped'))('the SOAP client on a real vboxwebsrv', () => {
  const home = mkdtempSync(join(tmpdir(), 'boxfest-vbox-client-'));
  const url = inject('vboxUrl');
  const paths = vboxWsdlPaths(home);
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('fetches the server’s WSDL once, trims it and files it under the API version', async () => {
    expect(await withWebsession({ home, url, user: '', password: '' }, (s) => Promise.resolve(s.api))).toBe(
      '7_2',
    );
    expect(JSON.parse(readFileSync(paths.index, 'utf8'))).toEqual({ [url]: '7_2' });
    const dir = paths.version('7_2', OPERATIONS_KEY);
    const trimmed = readFileSync(join(dir, 'vboxweb.wsdl'), 'utf8');
    expect(trimmed.length).toBeLessThan(200_000); // the server's own is 3.8 MB
    expect(readFileSync(join(dir, 'vboxwebService.wsdl'), 'utf8')).toContain(
      '<wsdl:service name="vboxService">',
    );
    expect(readdirSync(paths.dir).sort()).toEqual(['7_2-' + OPERATIONS_KEY, 'servers.json']);
  });

  it('replaces a cache trimmed from another version when the server reports a new one', async () => {
    cpSync(paths.version('7_2', OPERATIONS_KEY), paths.version('7_1', OPERATIONS_KEY), { recursive: true });
    rmSync(paths.version('7_2', OPERATIONS_KEY), { recursive: true });
    writeJsonAtomic(paths.index, { [url]: '7_1' });
    // A fresh process would load the 7_1 cache; this one still holds its client, so use another URL spelling.
    const alias = url.replace('127.0.0.1', 'localhost');
    writeJsonAtomic(paths.index, { [alias]: '7_1' });
    const api = await withWebsession({ home, url: alias, user: '', password: '' }, (s) =>
      Promise.resolve(s.api),
    );
    expect(api).toBe('7_2');
    expect(JSON.parse(readFileSync(paths.index, 'utf8'))).toEqual({ [alias]: '7_2' });
    expect(existsSync(join(paths.version('7_2', OPERATIONS_KEY), 'signatures.json'))).toBe(true);
  });

  it('names an unreachable web service and how to start one', async () => {
    const port = await new Promise<number>((r) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => r(typeof a === 'object' && a !== null ? a.port : 1));
      });
    });
    const e = await withWebsession({ home, url: `http://127.0.0.1:${port}/`, user: '', password: '' }, () =>
      Promise.resolve(),
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BoxfestError);
    expect(e).toMatchObject({
      code: 'VBOX_UNREACHABLE',
      message: `cannot reach the VirtualBox web service at http://127.0.0.1:${port}/`,
    });
    expect((e as BoxfestError).hint).toMatch(/vboxwebsrv --host 127.0.0.1 -t 0/);
  });
});
