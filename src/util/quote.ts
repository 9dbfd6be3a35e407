/** Quotes one word for a POSIX shell: whatever it holds, the shell sees exactly that string. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
