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

// One at a time per key, in call order, within this process (machines of one command changing
// the same network); a failure does not stop the next.
const queues = new Map<string, Promise<unknown>>();

export function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const p = before.then(work, work);
  const tail = p.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return p;
}
