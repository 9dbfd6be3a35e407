// Host keys made on the host: each file is read back by the tool of the daemon that will serve
// it (ssh-keygen for OpenSSH, dropbearkey for dropbear), which must derive the pinned public key.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  installHostKeyScript,
  restartSshdScript,
  newHostKey,
  probeAndInstallHostKeyScript,
  parseSshdProbe,
  type SshDaemon,
} from '../../../src/guest/host-key.js';

const dir = mkdtempSync(join(tmpdir(), 'boxfest-hostkey-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function publicFrom(tool: 'ssh-keygen' | 'dropbearkey', key: Buffer): string {
  const file = join(dir, `k${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, key, { mode: 0o600 });
  const out = execFileSync(tool, ['-y', '-f', file], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith('ssh-ed25519 '))!;
  return line.split(' ').slice(0, 2).join(' ');
}

describe('newHostKey', () => {
  it.each<['openssh' | 'dropbear', 'ssh-keygen' | 'dropbearkey']>([
    ['openssh', 'ssh-keygen'],
    ['dropbear', 'dropbearkey'],
  ])('its %s file: %s reads it and derives the public key boxfest pins', (format, tool) => {
    const k = newHostKey('web');
    expect(k.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$/);
    expect(publicFrom(tool, k[format])).toBe(k.publicKey);
  });

  it('every key is new', () => {
    const keys = new Set(Array.from({ length: 20 }, () => newHostKey('web').publicKey));
    expect(keys.size).toBe(20);
  });
});

describe('parseSshdProbe', () => {
  it.each<[string, ReturnType<typeof parseSshdProbe>]>([
    ['sshd: openssh\n', 'openssh'],
    ['sshd: dropbear-inittab\n', 'dropbear-inittab'],
    ['noise\nsshd: dropbear-systemd\n', 'dropbear-systemd'],
    ['sshd-unsupported: no sshd here\n', { unsupported: 'no sshd here' }],
    ['', { unsupported: 'the SSH server probe gave no answer (no output)' }],
  ])('%j', (out, want) => {
    expect(parseSshdProbe(out)).toEqual(want);
  });
});

describe('installHostKeyScript and restartSshdScript', () => {
  it.each<[SshDaemon, string, string]>([
    ['openssh', '/etc/ssh/ssh_host_ed25519_key', 'kill -HUP'],
    ['dropbear-inittab', '/etc/dropbear/dropbear_ed25519_host_key', 'kill "$p"'],
    ['dropbear-systemd', '/etc/dropbear/dropbear_ed25519_host_key', 'systemctl restart dropbear'],
  ])(
    '%s: key from stdin into %s, other keys removed; the restart is %s, in its own script',
    (daemon, file, restart) => {
      const k = newHostKey('web');
      const s = installHostKeyScript(daemon, k.publicKey, 'cat');
      expect(s).toContain(`cat > ${file}.boxfest`);
      expect(s).toContain(`mv -f ${file}.boxfest ${file}`);
      // Installing never restarts: the step first checks whether the server serves the key already.
      expect(s).not.toContain(restart);
      expect(restartSshdScript(daemon)).toContain(restart);
      // The private key is never part of the script (it goes on stdin).
      expect(s).not.toContain(k.openssh.toString('latin1').split('\n')[1]!.slice(0, 20));
      const before = s.indexOf('rm -f');
      expect(before).toBeGreaterThan(s.indexOf('cat >'));
      expect(s.indexOf('mv -f')).toBeGreaterThan(before);
    },
  );

  it('probing and installing in one command: valid sh, each server reads its own share of stdin, no key in the script', () => {
    const k = newHostKey('web');
    const s = probeAndInstallHostKeyScript(k.publicKey, k.openssh.length, 'hostname web');
    execFileSync('sh', ['-n', '-c', s]);
    // OpenSSH's PEM text first, exactly its length; dropbear's binary key is what follows it.
    expect(s).toContain(
      `dd bs=1 count=${k.openssh.length} 2>/dev/null > /etc/ssh/ssh_host_ed25519_key.boxfest`,
    );
    expect(s).toContain(
      `{ dd bs=1 count=${k.openssh.length} of=/dev/null 2>/dev/null; cat; } > /etc/dropbear/dropbear_ed25519_host_key.boxfest`,
    );
    expect(s).not.toContain(k.openssh.toString('latin1').split('\n')[1]!.slice(0, 20));
    expect(s).not.toContain(k.dropbear.toString('base64').slice(-24));
    // The extra part runs after the install, and says whether it succeeded.
    expect(s.indexOf('hostname web')).toBeGreaterThan(s.indexOf('esac'));
    expect(s).toContain('then echo then-done');
    expect(probeAndInstallHostKeyScript(k.publicKey, 1)).not.toContain('then-done');
  });

  it('is valid sh', () => {
    for (const d of ['openssh', 'dropbear-inittab', 'dropbear-systemd'] as const) {
      execFileSync('sh', ['-n', '-c', installHostKeyScript(d, 'ssh-ed25519 AAAA', 'cat')]);
      execFileSync('sh', ['-n', '-c', restartSshdScript(d)]);
    }
  });
});
