// How far apart two words are, for "did you mean" hints (keys, options, commands).

/** Optimal string alignment distance: Levenshtein plus adjacent swaps (`memroy` → `memory` is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** The word of `known` closest to `word`, when it is close enough to be a slip. */
export function closestWord(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = known
    .map((k) => ({ k, d: editDistance(word.toLowerCase(), k) }))
    .reduce((a, b) => (b.d < a.d ? b : a));
  return best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.k : undefined;
}
