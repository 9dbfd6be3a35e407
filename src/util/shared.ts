// One piece of work for concurrent callers: those asking with the same key while it runs await the
// same promise (machines of one `up` sharing a box import it once); a failure lets the next try.
const running = new Map<string, Promise<unknown>>();

export function shared<T>(key: string, work: () => Promise<T>): Promise<T> {
  let p = running.get(key) as Promise<T> | undefined;
  if (p === undefined) {
    p = work();
    running.set(key, p);
    p.catch(() => running.delete(key));
  }
  return p;
}
