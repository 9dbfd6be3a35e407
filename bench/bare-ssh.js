// The guest's own boot to SSH, with no boxfest at all: one bare QEMU of the tiny box with the
// devices boxfest gives it (NVMe disk, or virtio as `instant` boxes have; user networking with
// restrict=on and an SSH forward, virtio-net, virtio-rng), timed from its launch until a login
// with the box's key is ready.
// The floor for detecting "SSH is up": probes kept open, a new one every 50 ms for a guest timed
// alone, every 250 ms for guests side by side, a bounded number at once (firstBanner, PROBING).
// The first to see `SSH-` logs in over that connection, the others are closed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, overlay } from './project.js';

const { Client } = createRequire(import.meta.url)('ssh2');
/**
 * How often a probe is opened, and how many may be open at once: `fine` for one guest timed to
 * the nearest 50 ms (bench overhead), `spread` for guests booting side by side (bench:scale).
 */
const PROBING = { fine: { gapMs: 50, maxOpen: 60 }, spread: { gapMs: 250, maxOpen: 12 } };

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The first connection on 127.0.0.1:port that sends an SSH banner (its bytes put back). A probe
 * is opened every `gapMs` and none is given up on while it stays open, at most `maxOpen` at
 * once: QEMU's NAT sends a probe's SYN to the guest when it is opened and then again about every
 * 3 s, and a fresh SYN sent just after the guest's network came up was seen to go unanswered
 * until its retransmission, so one probe at a time was answered on that 3 s cycle (solo boots of
 * 6.5 s timed at 6.5 or 10.5 s). Twelve probes 250 ms apart cover the cycle; opening one every
 * 50 ms with no cap made a booting guest fork a server child for each when it started listening.
 */
function firstBanner(port, signal, { gapMs, maxOpen }) {
  return new Promise((resolve, reject) => {
    const open = new Set();
    let won = false;
    const tryOne = () => {
      if (won || signal.aborted || open.size >= maxOpen) return;
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
    const timer = setInterval(tryOne, gapMs);
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
export function bareGuest({ memory = 256, disk: diskInterface = 'nvme', probing = 'spread' } = {}) {
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
    const sock = await Promise.race([firstBanner(port, ac.signal, PROBING[probing]), exited]);
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
