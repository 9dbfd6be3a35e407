// The guest's own boot to SSH, with no boxfest at all: one bare QEMU of the tiny box with the
// devices boxfest gives it (NVMe disk, or virtio as `instant` boxes have; user networking with
// restrict=on and an SSH forward, virtio-net, virtio-rng), timed from its launch until a login
// with the box's key is ready.
// The floor for detecting "SSH is up": for one guest timed alone (bench overhead), a new probe
// every 50 ms, none given up (firstBannerFine); for guests booting side by side (bench:scale),
// boxfest's own way of probing (firstBannerInTurn). The first to see `SSH-` logs in over that
// connection, the others are closed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, overlay } from './project.js';

const { Client } = createRequire(import.meta.url)('ssh2');
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One probe: `{ sock }` once the banner came (its bytes put back), else why not. */
function probeOnce(port, waitMs) {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const got = [];
    let settled = false;
    // Refused by the guest only once QEMU took the connection: before QEMU listens on the
    // forward the host refuses it, which says nothing about the guest.
    let connected = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.removeListener('data', onData);
      if (r.sock === undefined) sock.destroy();
      resolve(r);
    };
    const onData = (d) => {
      got.push(d);
      const text = Buffer.concat(got).toString('latin1');
      if (text.length < 4) return;
      if (!text.startsWith('SSH-')) return done({ why: 'other' });
      sock.pause();
      sock.unshift(Buffer.concat(got));
      done({ sock });
    };
    const timer = setTimeout(() => done({ why: 'silent' }), waitMs);
    sock.once('connect', () => (connected = true));
    sock.on('data', onData);
    sock.on('error', () => done({ why: connected ? 'refused' : 'other' }));
    sock.on('close', () => done({ why: connected ? 'refused' : 'other' }));
  });
}

/**
 * The first connection on 127.0.0.1:port that sends an SSH banner, probed as boxfest probes
 * (ssh/client.ts): one probe at a time, 50 ms apart, each waiting 0.5 s for the banner until the
 * guest has refused one (its network is up), then up to 10 s. For guests booting side by side.
 */
async function firstBannerInTurn(port, signal) {
  let answered = false;
  for (;;) {
    if (signal.aborted) throw new Error('stopped');
    const r = await probeOnce(port, answered ? 10_000 : 500);
    if (r.sock !== undefined) return r.sock;
    if (r.why === 'refused') answered = true;
    await new Promise((t) => setTimeout(t, 50));
  }
}

/**
 * The first connection on 127.0.0.1:port that sends an SSH banner, probed as finely as can be: a
 * new probe every 50 ms, none given up on (QEMU's NAT holds a SYN the guest did not answer and
 * sends it again seconds later). Times one guest to the nearest 50 ms; but when its server starts
 * listening, it forks a child for each probe still pending: two bare guests booting together
 * each forked dozens, so it is no floor for guests side by side (bench:scale's came out slower
 * than boxfest's paced `up`: 5 guests in batches of 2 took 22.2 s, boxfest's `up` 20.7 s).
 */
function firstBannerFine(port, signal) {
  return new Promise((resolve, reject) => {
    const open = new Set();
    let won = false;
    const tryOne = () => {
      if (won || signal.aborted) return;
      const sock = createConnection({ host: '127.0.0.1', port });
      open.add(sock);
      const got = [];
      const onData = (d) => {
        got.push(d);
        const text = Buffer.concat(got).toString('latin1');
        if (text.length < 4) return;
        if (won || !text.startsWith('SSH-')) return sock.destroy();
        won = true;
        clearInterval(timer);
        sock.removeListener('data', onData);
        sock.pause();
        sock.unshift(Buffer.concat(got));
        for (const o of open) if (o !== sock) o.destroy();
        resolve(sock);
      };
      sock.on('data', onData);
      sock.on('error', () => {});
      sock.on('close', () => open.delete(sock));
    };
    const timer = setInterval(tryOne, 50);
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      for (const o of open) o.destroy();
      reject(new Error('stopped'));
    });
    tryOne();
  });
}

function login(sock, key) {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ sock, username: 'root', privateKey: key, readyTimeout: 30_000 });
  });
}

/**
 * Launches a bare QEMU of the tiny box; `ready` resolves with the seconds from its launch until
 * the SSH banner and until a login is ready; `stop` ends it by PID and removes its files. The
 * guest keeps running until then (an environment's first guests idle while the last boot).
 * `disk`: 'nvme' (boxfest's default) or 'virtio' (what `instant` boxes use).
 */
export function bareGuest({ memory = 256, disk: diskInterface = 'nvme', probing = 'in-turn' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-bare-ssh-'));
  const boxDir = join(ROOT, '.cache', 'tiny-box');
  const disk = join(dir, 'disk.qcow2');
  overlay(join(boxDir, 'box.qcow2'), disk);
  const key = readFileSync(join(boxDir, 'insecure_key'), 'utf8');
  const ac = new AbortController();
  let qemu;
  const ready = (async () => {
    const port = await freePort();
    const t0 = performance.now();
    // Not detached: our child, ended by PID in stop().
    qemu = spawn(
      'qemu-system-x86_64',
      [
        ...['-accel', 'tcg', '-m', String(memory), '-smp', '1', '-nodefaults', '-no-user-config'],
        ...[
          '-display',
          'none',
          '-chardev',
          `file,id=s0,path=${join(dir, 'serial.log')}`,
          '-serial',
          'chardev:s0',
        ],
        ...['-drive', `if=none,id=d0,file=${disk},format=qcow2`],
        ...(diskInterface === 'virtio'
          ? ['-device', 'virtio-blk-pci,drive=d0']
          : ['-device', 'nvme,drive=d0,serial=b0']),
        ...['-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`],
        ...['-device', 'virtio-net-pci,netdev=n0', '-device', 'virtio-rng-pci'],
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((_, reject) =>
      qemu.once('exit', (code) => reject(new Error(`bare QEMU exited with ${code}`))),
    );
    const probed = (probing === 'fine' ? firstBannerFine : firstBannerInTurn)(port, ac.signal);
    probed.catch(() => {}); // ended by stop() after QEMU exited: the race below has that error
    const sock = await Promise.race([probed, exited]);
    const banner = (performance.now() - t0) / 1000;
    const c = await Promise.race([login(sock, key), exited]);
    const loggedIn = (performance.now() - t0) / 1000;
    c.end();
    return { banner, ready: loggedIn };
  })();
  const stop = async () => {
    ac.abort();
    if (qemu !== undefined) {
      qemu.kill('SIGKILL');
      await new Promise((r) =>
        qemu.exitCode !== null || qemu.signalCode !== null ? r() : qemu.once('exit', r),
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { ready, stop };
}

/** Seconds from launching a bare QEMU of the tiny box until an SSH login to it is ready. */
export async function bareBootToSsh({ memory = 256 } = {}) {
  const g = bareGuest({ memory, probing: 'fine' });
  try {
    return await g.ready;
  } finally {
    await g.stop();
  }
}
