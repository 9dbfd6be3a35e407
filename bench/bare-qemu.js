// The host's own floor for parallel guests: N bare QEMUs of the tiny box (no boxfest at all)
// started at once, timed until each guest's init prints `box: rcS done` on its serial console.
// Under TCG a boot is CPU-bound, so 3 guests on 2 fully independent cores take ~1.5× one guest;
// 2 guests at once taking longer than 1 shows the two cores are not independent (SMT siblings,
// a shared host), and the 3-guest ratio then bounds what any tool can reach here.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, overlay } from './project.js';

const READY = 'box: rcS done';

function bootOne(dir, i, { memory = 256, disk: diskInterface = 'nvme' } = {}) {
  const disk = join(dir, `disk${i}.qcow2`);
  const log = join(dir, `serial${i}.log`);
  const box = join(ROOT, '.cache', 'tiny-box', 'box.qcow2');
  overlay(box, disk);
  const t0 = performance.now();
  // Not detached: it is our child, ended by PID below.
  const child = spawn(
    'qemu-system-x86_64',
    [
      ...[
        '-accel',
        'tcg',
        '-m',
        String(memory),
        '-smp',
        '1',
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
      ],
      ...['-chardev', `file,id=s0,path=${log}`, '-serial', 'chardev:s0'],
      ...['-drive', `if=none,id=d0,file=${disk},format=qcow2`],
      ...(diskInterface === 'virtio'
        ? ['-device', 'virtio-blk-pci,drive=d0']
        : ['-device', 'nvme,drive=d0,serial=b0']),
      ...['-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0'],
    ],
    { stdio: 'ignore' },
  );
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (existsSync(log) && readFileSync(log, 'latin1').includes(READY)) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve((performance.now() - t0) / 1000);
      }
    }, 20);
    child.once('exit', (code) => {
      if (code !== null) {
        clearInterval(timer);
        reject(new Error(`bare QEMU exited with ${code}`));
      }
    });
  });
}

/** Seconds until the last of `n` guests started together is ready; `shape`: { memory, disk }. */
export async function bareBoot(n, shape = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-bare-'));
  try {
    const times = await Promise.all(Array.from({ length: n }, (_, i) => bootOne(dir, i, shape)));
    return Math.max(...times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
