// What a machine restored from a saved state must change before anyone uses it: every clone of
// one state starts with the same kernel RNG state, clock, MACs and SSH host key. The clock goes
// first, asked for when the script runs (a time made before the command started would be late by
// that start: seconds on a loaded host); setting it draws nothing random. Randomness next (nothing
// after it may draw from the shared pool): host-made bytes are added with credit and the kernel
// is told to reseed now (RNDADDENTROPY + RNDRESEEDCRNG; a plain write to /dev/urandom does not
// reseed). Pure: the script is run as root over SSH; the clock line, then host randomness, on stdin.
import { shellQuote as q } from '../util/quote.js';

/** How the guest reseeds: the box's `rndreseed` helper, or perl (Debian's essential perl-base). */
export type Reseed = 'rndreseed' | 'perl';

/** Bytes of host randomness the script reads from stdin. */
export const RESEED_BYTES = 256;

// In perl, as Debian's essential perl-base has it: ioctl numbers from <linux/random.h>.
const PERL_RESEED = [
  'open(my $f, "<", "/dev/urandom") or die "open: $!";',
  `read(STDIN, my $b, ${RESEED_BYTES}) == ${RESEED_BYTES} or die "short read";`,
  'ioctl($f, 0x40085203, pack("ii", length($b) * 8, length($b)) . $b) or die "RNDADDENTROPY: $!";',
  'ioctl($f, 0x5207, 0) or die "RNDRESEEDCRNG: $!";',
].join(' ');

/** What the script prints when it wants the host's clock (`clockLine`) on stdin. */
export const CLOCK_ASK = 'boxfest-clock?';

/** The host's clock as the script reads it: whole seconds (busybox `date -s @` takes no fraction), rounded. */
export const clockLine = (nowMs: number): string => `${Math.round(nowMs / 1000)}\n`;

export interface Reidentify {
  reseed: Reseed;
  /** [MAC the guest has, MAC it must get], NAT first. */
  macs: [string, string][];
}

export function reidentifyScript(r: Reidentify): string {
  return [
    'set -e',
    `echo ${CLOCK_ASK}`,
    'read -r now',
    'date -u -s "@$now" >/dev/null',
    r.reseed === 'rndreseed' ? 'rndreseed' : `perl -e ${q(PERL_RESEED)}`,
    'iface_of() { for d in /sys/class/net/*; do [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }; done; return 1; }',
    ...r.macs.map(([from, to]) => `i=$(iface_of ${q(from)}) && ip link set dev "$i" address ${q(to)}`),
    // The SSH host key is the next step's (pipeline/steps/host-key.ts): made on the host.
    '[ ! -s /etc/machine-id ] || tr -d - < /proc/sys/kernel/random/uuid > /etc/machine-id',
    'echo reidentified',
  ].join('\n');
}
