// What boxfest runs as root on a libvirt host (host-exec.ts, span.ts): through `sudo -n` exactly
// when the login is not root, and only for the commands that need root, so a sudo rule naming
// `ip` and `bridge` is enough for a network spanning hosts (the two-hosts test's host B has just
// that rule, for real).
import { describe, expect, it } from 'vitest';
import { rootPrefix } from '../../../src/providers/libvirt/host-exec.js';
import { ENSURE_SPAN, REMOVE_SPAN } from '../../../src/providers/libvirt/span.js';
import { usableUri, type LibvirtUri } from '../../../src/providers/libvirt/uri.js';

const ok = (text: string): LibvirtUri => {
  const p = usableUri(text);
  if (!p.ok) throw new Error(`${text}: ${p.problem} (${p.hint})`);
  return p.uri;
};

describe('rootPrefix', () => {
  it.each<[string, number | undefined, string[]]>([
    ['qemu+ssh://root@host/system', 1000, []],
    ['qemu+ssh://ops@host/system', 0, ['sudo', '-n']],
    ['qemu+ssh://ops@host:2222/system?keyfile=/k', 0, ['sudo', '-n']],
    ['qemu:///system', 0, []],
    ['qemu:///system', 1000, ['sudo', '-n']],
  ])('%s, this process uid %s: %j', (uri, uid, prefix) => {
    expect(rootPrefix(ok(uri), uid)).toEqual(prefix);
  });
});

describe('the VXLAN scripts', () => {
  const lines = (script: string) => script.split('\n').map((l) => l.trim());
  it.each([
    ['ENSURE_SPAN', ENSURE_SPAN],
    ['REMOVE_SPAN', REMOVE_SPAN],
  ])('%s changes the host only through $root; it reads without it', (_, script) => {
    const changes = lines(script).flatMap((l) =>
      [...l.matchAll(/(\$root )?\b(ip link (?:add|set|del)|bridge fdb (?:append|del|add|replace))\b/g)].map(
        (m) => [m[2], m[1] !== undefined],
      ),
    );
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.filter(([, viaRoot]) => !viaRoot)).toEqual([]);
    // Reads and the rest run as the login user: no `sudo sh`, no blanket root for the script.
    expect(script).not.toMatch(/\$root (sh|cat|awk|\[)/);
    // bridge is in /usr/sbin, off a Debian user's PATH.
    expect(script).toContain('export PATH="$PATH:/usr/sbin:/sbin"');
  });
});
