// Names and values from users that end up in paths, option strings or config files boxfest
// writes. Each rule lives here once, so the Boxfile's checks, the CLI's and the box store's agree.
// Pure: no imports, so any layer can use it.

/** A machine or network name: a DNS label (it is also a hostname and a directory name). */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A login name as OpenSSH and useradd take it: no spaces, quotes or control characters, so it can
 * be printed into an ssh_config line and a shell command without changing their meaning.
 */
export const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
export const SSH_USER_RULE =
  'use letters, digits, `_`, `.` and `-`, starting with a letter or `_` (at most 32)';

/** A Linux network interface name (IFNAMSIZ 16 with its NUL): what QEMU's bridge helper takes. */
export const LINUX_IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

/** Control characters: a newline or an escape in a value would start a new line or command. */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function hasControlChars(text: string): boolean {
  return CONTROL_CHARS.test(text);
}

/**
 * Invisible formatting characters (Unicode's Cf: soft hyphen, zero-width ones, bidi controls, BOM)
 * and the line and paragraph separators. Spelled out rather than `\p{Cf}`: a property escape makes
 * V8 build a Unicode set when it parses the module, a cost on every command.
 */
const INVISIBLE =
  /[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * `text` quoted for a message, cut to 60 characters; control and invisible formatting characters
 * (a bidi override could reorder the terminal line) shown as escapes.
 */
export function quoteForMessage(text: string, max = 60): string {
  const inner = JSON.stringify(text)
    .slice(1, -1)
    .replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return inner.length > max ? `"${inner.slice(0, max - 1)}…"` : `"${inner}"`;
}
