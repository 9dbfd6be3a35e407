import { describe, expect, it } from 'vitest';
import { shared } from '../../../src/util/shared.js';

describe('shared', () => {
  it('runs the work once for concurrent callers with one key, once per key', async () => {
    let runs = 0;
    const work = () => new Promise<number>((resolve) => setTimeout(() => resolve(++runs), 5));
    const [a, b, c] = await Promise.all([shared('k1', work), shared('k1', work), shared('k2', work)]);
    expect([a, b]).toEqual([1, 1]);
    expect(c).toBe(2);
    expect(runs).toBe(2);
  });

  it('lets the next caller try again after a failure', async () => {
    let runs = 0;
    const failing = () => Promise.reject(new Error(`failed ${++runs}`));
    await expect(shared('retry', failing)).rejects.toThrow('failed 1');
    await expect(shared('retry', failing)).rejects.toThrow('failed 2');
    expect(await shared('retry', () => Promise.resolve('ok'))).toBe('ok');
  });
});
