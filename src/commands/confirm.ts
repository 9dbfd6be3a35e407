import { createInterface } from 'node:readline/promises';

/** True when a question can be put to a person: a terminal on stdin and no --json. */
export function canAsk(json: boolean): boolean {
  return process.stdin.isTTY === true && !json;
}

/** Asks on stderr; only y or yes (any case) is a yes. */
export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
