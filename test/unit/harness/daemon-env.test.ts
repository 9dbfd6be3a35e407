// What the integration tests' boxfest inherits (test/integration/daemon-env.ts): nothing that
// names a daemon or server the suite did not start. The real refusal, with decoy listeners:
// test/integration/own-daemons.integration.ts.
import { describe, expect, it } from 'vitest';
import { DAEMON_VARS, NO_LIBVIRTD, ownDaemonsEnv } from '../../integration/daemon-env.js';

describe('ownDaemonsEnv', () => {
  it.each(DAEMON_VARS.filter((v) => v !== 'LIBVIRT_DEFAULT_URI'))('drops %s', (v) => {
    const env = ownDaemonsEnv({ PATH: '/bin', [v]: 'http://127.0.0.1:18083/' });
    expect(env[v]).toBeUndefined();
    expect(env['PATH']).toBe('/bin');
  });

  it.each([
    ['outside the private libvirtd: a URI no daemon can serve', {}, NO_LIBVIRTD],
    ['a planted one is replaced', { LIBVIRT_DEFAULT_URI: 'qemu:///system' }, NO_LIBVIRTD],
    [
      'inside the private libvirtd: none (qemu:///system is that daemon)',
      { BOXFEST_TEST_LIBVIRTD_PID: '42' },
      undefined,
    ],
    [
      'inside, a planted one is dropped',
      { BOXFEST_TEST_LIBVIRTD_PID: '42', LIBVIRT_DEFAULT_URI: 'qemu:///system?socket=/tmp/x' },
      undefined,
    ],
  ])('LIBVIRT_DEFAULT_URI %s', (_, env, uri) => {
    expect(ownDaemonsEnv(env)['LIBVIRT_DEFAULT_URI']).toBe(uri);
  });

  it.each([
    [
      'the URL the VirtualBox setup proved',
      'http://127.0.0.1:31337/',
      'http://127.0.0.1:31337/',
      'http://127.0.0.1:31337/',
    ],
    [
      'a user URL while the setup proved another',
      'http://127.0.0.1:18083/',
      'http://127.0.0.1:31337/',
      undefined,
    ],
    ['a user URL with no VirtualBox setup', 'http://127.0.0.1:18083/', undefined, undefined],
  ])('BOXFEST_VBOX_URL: %s', (_, url, proven, kept) => {
    const env = ownDaemonsEnv({
      BOXFEST_VBOX_URL: url,
      ...(proven === undefined ? {} : { BOXFEST_TEST_VBOX_URL: proven }),
    });
    expect(env['BOXFEST_VBOX_URL']).toBe(kept);
  });

  it('NO_LIBVIRTD is a URI boxfest accepts, whose socket nothing can listen on', async () => {
    const { usableUri } = await import('../../../src/providers/libvirt/uri.js');
    const u = usableUri(NO_LIBVIRTD);
    expect(u.ok && u.uri.params.get('socket')).toMatch(/^\/proc\/self\//);
  });
});
