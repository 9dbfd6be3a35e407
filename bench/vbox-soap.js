#!/usr/bin/env node
// VirtualBox SOAP client timings against a real vboxwebsrv (scripts/vboxweb.sh setup):
//  - client ready from the cached, trimmed WSDL vs from the server's full WSDL (fresh processes,
//    since node-soap caches parsed WSDLs per process); `import('soap')` itself is shown apart;
//  - per-call latency over the kept-alive connection, and a whole websession (logon..logoff).
// Not a test: it prints medians and ratios, it does not assert. Usage:
//   npm run bench:vbox [-- ROUNDS]     (BOXFEST_VBOX_URL; unset: the server scripts/vboxweb.sh
//                                        starts and proves its own, never whatever holds 18083)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const SCRIPT = resolve(import.meta.dirname, '../scripts/vboxweb.sh');
let started = false;
function ownServer() {
  const out = execFileSync('bash', [SCRIPT, 'setup'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started = /^BOXFEST_VBOXWEB_STARTED=1$/m.test(out);
  const url = /^BOXFEST_VBOX_URL=(.*)$/m.exec(out)?.[1];
  if (url === undefined) throw new Error(`scripts/vboxweb.sh setup printed no URL:\n${out}`);
  return url;
}
const URL_ = process.env.BOXFEST_VBOX_URL || ownServer();
const DIST = resolve(import.meta.dirname, '../dist/providers/virtualbox');
const home = mkdtempSync(join(tmpdir(), 'boxfest-bench-vbox-'));

// One child process per sample: prints JSON {importMs, readyMs, rssMB}.
function child(code) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, BOXFEST_HOME: home },
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}
const measure = (body) => `
  const t0 = performance.now();
  const soap = await import('soap');
  const t1 = performance.now();
  ${body}
  const t2 = performance.now();
  console.log(JSON.stringify({ importMs: t1 - t0, readyMs: t2 - t1, rssMB: process.memoryUsage().rss / 2 ** 20 }));
`;

try {
  // Warm the cache once: fetch, trim and file the server's WSDL under its API version.
  const warm = await import(join(DIST, 'invoke.js'));
  await warm.withWebsession({ home, url: URL_, user: '', password: '' }, async () => {});

  // The full WSDL as the server serves it, paired with the same service WSDL.
  const full = join(home, 'full');
  mkdirSync(full, { recursive: true });
  writeFileSync(join(full, 'vboxweb.wsdl'), await (await fetch(new URL('?wsdl', URL_))).text());
  const { trimWsdl } = await import(join(DIST, 'soap/trim.js'));
  writeFileSync(
    join(full, 'vboxwebService.wsdl'),
    trimWsdl(
      '<xsd:schema targetNamespace="http://www.virtualbox.org/"><xsd:element name="RuntimeFault"></xsd:element><xsd:element name="InvalidObjectFault"></xsd:element></xsd:schema>',
      [],
    ).service,
  );

  const cached = [];
  const fullSamples = [];
  for (let i = 0; i < ROUNDS; i++) {
    cached.push(
      child(
        measure(`const { soapClient } = await import(${JSON.stringify(join(DIST, 'soap/client.js'))});
                 const { agentFor } = await import(${JSON.stringify(join(DIST, 'soap/agent.js'))});
                 const c = await soapClient(process.env.BOXFEST_HOME, ${JSON.stringify(URL_)}, agentFor(${JSON.stringify(URL_)}));
                 if (c.api === undefined) throw new Error('cache miss');`),
      ),
    );
    fullSamples.push(
      child(
        measure(
          `await soap.createClientAsync(${JSON.stringify(join(full, 'vboxwebService.wsdl'))}, { endpoint: ${JSON.stringify(URL_)}, disableCache: true });`,
        ),
      ),
    );
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));

  // Per-call latency in one websession, kept-alive connection.
  const calls = [];
  const sessions = [];
  await warm.withWebsession({ home, url: URL_, user: '', password: '' }, async (s) => {
    for (let i = 0; i < 20; i++) await s.call('IVirtualBox_getVersion', { _this: s.vbox });
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await s.call('IVirtualBox_getVersion', { _this: s.vbox });
      calls.push(performance.now() - t);
    }
  });
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await warm.withWebsession({ home, url: URL_, user: '', password: '' }, async () => {});
    sessions.push(performance.now() - t);
  }
  const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

  const rows = [
    ['import("soap")', med(cached, 'importMs')],
    ['client ready, cached trimmed WSDL', med(cached, 'readyMs')],
    ['client ready, full server WSDL', med(fullSamples, 'readyMs')],
  ];
  console.log(`vboxwebsrv ${URL_}, ${ROUNDS} fresh processes each (medians)`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(36)} ${v.toFixed(1).padStart(8)} ms`);
  console.log(
    `  ratio full/cached                    ${(med(fullSamples, 'readyMs') / med(cached, 'readyMs')).toFixed(1).padStart(8)} x`,
  );
  console.log(
    `  RSS after ready: cached ${med(cached, 'rssMB').toFixed(0)} MB, full ${med(fullSamples, 'rssMB').toFixed(0)} MB`,
  );
  console.log(
    `  per call (IVirtualBox_getVersion, keep-alive): median ${median(calls).toFixed(2)} ms, p95 ${p95(calls).toFixed(2)} ms (n=${calls.length})`,
  );
  console.log(
    `  websession logon+getAPIVersion+logoff: median ${median(sessions).toFixed(2)} ms (n=${sessions.length})`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
  if (started) execFileSync('bash', [SCRIPT, 'stop'], { stdio: 'inherit' });
}
