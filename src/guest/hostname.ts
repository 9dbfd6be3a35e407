// The guest's hostname, run as root over SSH: set now, kept across reboots, and resolvable
// (127.0.1.1, as Debian's installer writes it). Each part only when it is not so already.
import { shellQuote } from '../util/quote.js';

export function setHostnameScript(hostname: string): string {
  const h = shellQuote(hostname);
  return [
    `[ "$(hostname)" = ${h} ] || hostname ${h}`,
    `[ "$(cat /etc/hostname 2>/dev/null)" = ${h} ] || printf '%s\\n' ${h} > /etc/hostname`,
    `grep -q ${shellQuote(`[[:space:]]${hostname}$`)} /etc/hosts 2>/dev/null || printf '127.0.1.1 %s\\n' ${h} >> /etc/hosts`,
  ].join('\n');
}
