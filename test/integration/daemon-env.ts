// The environment every boxfest the integration tests run gets: the caller's, minus whatever
// would point boxfest at a daemon or server this suite did not start. A developer's shell often
// names one: LIBVIRT_DEFAULT_URI (their system libvirtd; `global-status` lists every libvirt
// daemon's boxfest domains), a proxy (box downloads from the tests' own HTTP servers would go
// through it), their ssh-agent (forwarded into test guests), their own vboxwebsrv. A test that
// needs one of these passes its own (an HTTP proxy, an ssh-agent it started) explicitly.

/** Variables that choose a daemon or server for boxfest; never inherited by the tests' boxfest. */
export const DAEMON_VARS = [
  'LIBVIRT_DEFAULT_URI',
  'VIRSH_DEFAULT_CONNECT_URI',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'all_proxy',
  'no_proxy',
  'SSH_AUTH_SOCK',
  'BOXFEST_VBOX_URL',
  'BOXFEST_VBOX_USER',
  'BOXFEST_VBOX_PASSWORD',
] as const;

/**
 * Outside the private libvirtd's namespaces no libvirt daemon is the suite's: boxfest gets a URI
 * whose socket cannot exist (nothing can listen under /proc), so it reaches none, not even the
 * host's qemu:///system.
 */
export const NO_LIBVIRTD = 'qemu:///system?socket=/proc/self/boxfest-tests-start-no-libvirtd';

export function ownDaemonsEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const v of DAEMON_VARS) delete out[v];
  // The vboxwebsrv the VirtualBox tests' setup started and proved (it records its URL twice).
  const vbox = env['BOXFEST_TEST_VBOX_URL'];
  if (vbox !== undefined && vbox !== '' && env['BOXFEST_VBOX_URL'] === vbox) out['BOXFEST_VBOX_URL'] = vbox;
  // Inside the private libvirtd's namespaces qemu:///system is that daemon (libvirt/own-daemon.ts).
  if (env['BOXFEST_TEST_LIBVIRTD_PID'] === undefined) out['LIBVIRT_DEFAULT_URI'] = NO_LIBVIRTD;
  return out;
}
