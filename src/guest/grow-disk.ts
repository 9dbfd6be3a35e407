// Growing the root filesystem to a grown disk, for boxes without cloud-init: growpart (Debian's
// and Ubuntu's cloud-guest-utils, Fedora's cloud-utils-growpart) grows the root partition, then
// resize2fs or xfs_growfs the filesystem. A guest without those tools gets a clear message, not a
// failure: the disk is bigger, only the filesystem is not. Pure: the script runs as root over SSH.

/** Result lines: `boxfest-grow grown|full|no-tools|unsupported DETAIL`. */
export const GROW_LINE = 'boxfest-grow';

export const GROW_SCRIPT = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  `say() { echo ${GROW_LINE} "$@"; exit 0; }`,
  'set -- $(awk \'$2 == "/" { s = $1; t = $3 } END { print s, t }\' /proc/mounts)',
  'src=$1; fs=$2',
  '[ "$src" = /dev/root ] && src=$(readlink -f /dev/root 2>/dev/null || echo /dev/root)',
  'dev=${src#/dev/}',
  '[ -r "/sys/class/block/$dev/partition" ] || say unsupported "the root filesystem ($src) is not on a partition"',
  'part=$(cat "/sys/class/block/$dev/partition")',
  'disk=/dev/$(basename "$(readlink -f "/sys/class/block/$dev/..")")',
  'case "$fs" in ext2|ext3|ext4) grow="resize2fs $src" tool=resize2fs ;; xfs) grow="xfs_growfs /" tool=xfs_growfs ;;',
  '  *) say unsupported "the root filesystem is $fs" ;; esac',
  'missing=""; for t in growpart $tool; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done',
  '[ -z "$missing" ] || say no-tools "no$missing in the guest: grow partition $part of $disk and its $fs filesystem yourself"',
  'out=$(growpart "$disk" "$part" 2>&1); rc=$?',
  'case "$out" in *NOCHANGE*) ;; *) [ $rc -eq 0 ] || { echo "$out" >&2; exit 1; } ;; esac',
  'g=$($grow 2>&1) || { echo "$g" >&2; exit 1; }',
  'case "$out" in *NOCHANGE*) say full "$src fills $disk" ;; *) say grown "$src ($fs) grown to fill $disk" ;; esac',
].join('\n');

export interface GrowResult {
  kind: 'grown' | 'full' | 'no-tools' | 'unsupported';
  detail: string;
}

export function parseGrow(out: string): GrowResult | undefined {
  const m = new RegExp(`^${GROW_LINE} (grown|full|no-tools|unsupported) ?(.*)$`, 'm').exec(out);
  return m === null ? undefined : { kind: m[1] as GrowResult['kind'], detail: m[2] ?? '' };
}
