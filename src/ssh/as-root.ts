import { shellQuote } from '../util/quote.js';

/** A command line that runs `script` as root: directly for root, through sudo for other users. */
export function asRoot(user: string, script: string): string {
  return user === 'root' ? `sh -c ${shellQuote(script)}` : `sudo -n sh -c ${shellQuote(script)}`;
}
