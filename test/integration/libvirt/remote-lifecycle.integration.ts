// The lifecycle scenario (scenarios/lifecycle.ts) on a remote libvirt host (#16): the Boxfile names
// the private daemon by a qemu+ssh URI (its remote path, scripts/libvirtd.sh sshd), so boxfest
// speaks libvirt's RPC over its SSH connection to that host, uploads the box through it, and
// reaches the guest through it as a jump (SSH, rsync, `ssh-config` for plain OpenSSH). This test
// runs inside the daemon's network namespace, where the guest's address is also routable
// directly: the sshd log proves the jump carried the guest's connections.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifecycleScenario } from '../scenarios/lifecycle.js';
import { remotePath, remoteTarget } from './remote-target.js';

const { dir, uri } = remotePath();
const REMOTE = remoteTarget(uri);

lifecycleScenario(REMOTE);

describe('libvirt on a remote host: the guest is reached through the host', () => {
  it("the host's sshd opened channels to the guest's SSH port (direct-tcpip), not only to libvirt", () => {
    // The test sshd logs at DEBUG1 (scripts/libvirtd.sh), which names each channel's target.
    const log = readFileSync(join(dir, 'ssh', 'sshd.log'), 'utf8');
    const toGuests = log.match(
      /server_request_direct_tcpip: originator \S+ port \d+, target \d+\.\d+\.\d+\.\d+ port 22\b/g,
    );
    // wait-ssh, replace-key, provision, `ssh`, rsync's OpenSSH ProxyJump, ssh-config's...: many.
    expect(toGuests?.length ?? 0).toBeGreaterThan(5);
  });
});
