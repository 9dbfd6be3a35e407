// The machine's own login key in the guest: the SSH user's authorized_keys made to hold that one
// key (the box's insecure key goes), and what to read back when the key does not log in. Pure:
// shell run as the SSH user over SSH. The key goes in as an argument: it is a public key.
import { shellQuote } from '../util/quote.js';

/**
 * Run as the SSH user: ~/.ssh/authorized_keys becomes the one line `publicKey`, replaced in one
 * rename. Not flushed: the caller flushes (guest/durable.ts) before state.json says it happened.
 */
export const installLoginKeyCommand = (publicKey: string): string =>
  `umask 077 && mkdir -p ~/.ssh && printf '%s\\n' ${shellQuote(publicKey)} > ~/.ssh/authorized_keys.boxfest && mv -f ~/.ssh/authorized_keys.boxfest ~/.ssh/authorized_keys`;

/** Run as the SSH user: the modes and owners the SSH server checks, and whether the key is there. */
export const authorizedKeysReport = (publicKey: string): string => {
  const key = publicKey.split(' ').slice(0, 2).join(' ');
  return `ls -lnd ~ ~/.ssh ~/.ssh/authorized_keys 2>&1; echo "lines holding the key: $(grep -cF ${shellQuote(key)} ~/.ssh/authorized_keys 2>&1)"`;
};

/** What authorizedKeysReport printed: whether authorized_keys holds the key. */
export const reportHoldsKey = (stdout: string): boolean => /lines holding the key: [1-9]/.test(stdout);
