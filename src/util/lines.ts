// Output of host commands and guest scripts, shown line by line as it comes.

/** Splits a stream into lines, calling `onLine` for each complete one (and the rest at the end). */
export function lineSplitter(onLine: (l: string) => void): {
  push: (chunk: string) => void;
  end: () => void;
} {
  let rest = '';
  return {
    push: (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) onLine(p);
    },
    end: () => {
      if (rest !== '') onLine(rest);
      rest = '';
    },
  };
}
