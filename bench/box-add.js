#!/usr/bin/env node
// `box add` of a 1 GiB qcow2 image from a local URL, checksum included, against the floor:
// `curl -s URL | tee FILE | sha256sum` (download, keep, hash) from the same server in the same
// run. Goal: box add ≤ 1.25× curl. Medians over N rounds, run alternately (A B A B ...), each
// box add into an empty BOXFEST_HOME. The server is Node's http in this process, the same for
// both. Not a test: it prints, it does not assert. Usage: npm run bench:box-add [-- ROUNDS]
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const GiB = 2 ** 30;

/** A 1 GiB qcow2 of random (incompressible) data, made once and cached. */
function image() {
  const dir = join(ROOT, '.cache', 'bench');
  const file = join(dir, 'random-1g.qcow2');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, 'random-1g.raw');
  execFileSync('sh', ['-c', `head -c ${GiB} /dev/urandom > '${raw}'`]);
  execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', raw, `${file}.tmp`]);
  execFileSync('mv', [`${file}.tmp`, file]);
  rmSync(raw);
  return file;
}

function serve(file) {
  const size = statSync(file).size;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function timed(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) =>
      code === 0
        ? resolve({ s: (performance.now() - t0) / 1000, out })
        : reject(new Error(`${cmd} failed:\n${out}`)),
    );
  });
}

async function main() {
  const file = image();
  const size = statSync(file).size;
  const sum = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) sum.update(c);
  const sha = sum.digest('hex');
  const server = await serve(file);
  const url = `http://127.0.0.1:${server.address().port}/random-1g.qcow2`;
  const work = mkdtempSync(join(tmpdir(), 'boxfest-bench-add-'));
  const boxfest = [];
  const curl = [];
  try {
    for (let i = 0; i <= ROUNDS; i++) {
      const home = join(work, `home-${i}`);
      const env = { ...process.env, BOXFEST_HOME: home };
      const a = await timed(
        process.execPath,
        [BIN, 'box', 'add', url, '--name', 'bench', '--checksum', `sha256:${sha}`],
        env,
      );
      const out = join(work, 'curl.out');
      const b = await timed('sh', ['-c', `curl -s '${url}' | tee '${out}' | sha256sum`], process.env);
      if (!b.out.startsWith(sha)) throw new Error(`curl pipeline hashed ${b.out}`);
      rmSync(out, { force: true });
      rmSync(home, { recursive: true, force: true });
      // Round 0 warms the page cache and the server: not counted.
      if (i === 0) continue;
      boxfest.push(a.s);
      curl.push(b.s);
      console.log(`round ${i}: box add ${a.s.toFixed(2)} s, curl | tee | sha256sum ${b.s.toFixed(2)} s`);
    }
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
  const a = median(boxfest);
  const b = median(curl);
  console.log(
    `\nbox add of ${(size / GiB).toFixed(2)} GiB from ${url.replace(/\/[^/]*$/, '/...')} with --checksum sha256, medians of ${ROUNDS}:`,
  );
  console.log(
    `  boxfest box add:                 ${a.toFixed(2)} s (${(size / 2 ** 20 / a).toFixed(0)} MiB/s)`,
  );
  console.log(
    `  curl -s URL | tee FILE | sha256sum: ${b.toFixed(2)} s (${(size / 2 ** 20 / b).toFixed(0)} MiB/s)`,
  );
  console.log(`  ratio: ${(a / b).toFixed(2)}× (goal ≤ 1.25×)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
