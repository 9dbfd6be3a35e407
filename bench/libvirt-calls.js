// Local per-call cost of boxfest's libvirt client (libvirt's RPC protocol from TypeScript) against
// `virsh`, on one domain of a running lab: connect, then the calls `status` makes (domain state,
// boxfest's metadata, the domain list). virsh is measured two ways: a process per call (what a
// naive wrapper does) and one long-lived `virsh` session fed commands on stdin, framed by an
// `echo` marker (the best a virsh-based client could do). Medians in milliseconds.
import { spawn, spawnSync } from 'node:child_process';
import { LibvirtClient } from '../dist/providers/libvirt/client.js';
import { METADATA_NS } from '../dist/providers/libvirt/domain-xml.js';
import { usableUri } from '../dist/providers/libvirt/uri.js';
import { median } from './project.js';

const URI = 'qemu:///system';
const VIRSH_ENV = { ...process.env, LC_ALL: 'C', TERM: 'dumb', COLUMNS: '1000000' };

async function timed(n, f) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

/** One `virsh` fed on stdin; each command followed by `echo MARK` (typed with '' so readline's echo never matches). */
function virshSession() {
  const p = spawn('virsh', ['-q', '-c', URI], { stdio: ['pipe', 'pipe', 'ignore'], env: VIRSH_ENV });
  let out = '';
  let waiting;
  let n = 0;
  p.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
    if (waiting !== undefined && out.includes(waiting.mark)) {
      const w = waiting;
      waiting = undefined;
      const text = out.slice(0, out.indexOf(w.mark));
      out = '';
      w.resolve(text);
    }
  });
  return {
    run: (line) =>
      new Promise((resolve, reject) => {
        n += 1;
        const timer = setTimeout(() => reject(new Error(`virsh session: no answer to ${line}`)), 10_000);
        waiting = { mark: `bf.${n}.end`, resolve: (t) => (clearTimeout(timer), resolve(t)) };
        p.stdin.write(`${line}\necho bf.${n}''.end\n`);
      }),
    close: () => new Promise((r) => (p.on('exit', r), p.stdin.end('quit\n'))),
  };
}

/** Per-call medians (ms) on `domain`, a running domain carrying boxfest's tag. */
export async function callCosts(domain, n = 200) {
  const uri = usableUri(URI).uri;
  const rows = [];
  // RPC: a fresh connection each time (AUTH_LIST + CONNECT_OPEN), then calls on one connection.
  const connect = await timed(20, async () => (await LibvirtClient.open(uri)).close());
  const c = await LibvirtClient.open(uri);
  const dom = await c.api.lookupDomain(domain);
  rows.push(['connect', connect]);
  rows.push(['domain state', await timed(n, () => c.api.domainState(dom))]);
  rows.push(['metadata', await timed(n, () => c.api.getMetadata(dom, METADATA_NS))]);
  rows.push(['list domains', await timed(n, () => c.api.listAllDomains())]);
  c.close();

  // virsh, a process per call.
  const proc =
    (...args) =>
    () => {
      const r = spawnSync('virsh', ['-q', '-c', URI, ...args], { env: VIRSH_ENV, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`virsh ${args.join(' ')} failed`);
    };
  const perProcess = [
    await timed(20, proc('version')),
    await timed(20, proc('domstate', domain)),
    await timed(20, proc('metadata', domain, METADATA_NS)),
    await timed(20, proc('list', '--all', '--name')),
  ];
  // virsh, one session.
  const t0 = performance.now();
  const s = virshSession();
  await s.run('version');
  const sessionOpen = performance.now() - t0;
  const session = [
    sessionOpen,
    await timed(n, () => s.run(`domstate ${domain}`)),
    await timed(n, () => s.run(`metadata ${domain} ${METADATA_NS}`)),
    await timed(n, () => s.run('list --all --name')),
  ];
  await s.close();
  return rows.map(([label, rpc], i) => ({ label, rpc, session: session[i], process: perProcess[i] }));
}
