// A network namespace a test creates, and removes only if it created it: a namespace of that name
// that already exists (another run's, a user's) makes the test fail and is left as it was, even by
// the cleanup that runs after the failure. Likewise a line the test adds to QEMU's bridge ACL.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export class OwnNetns {
  /** `dev:ino` of /run/netns/NAME once this object created it. */
  private made: string | undefined;
  constructor(readonly name: string) {}

  get path(): string {
    return `/run/netns/${this.name}`;
  }

  private id(): string | undefined {
    try {
      const s = statSync(this.path);
      return `${s.dev}:${s.ino}`;
    } catch {
      return undefined;
    }
  }

  /** Creates it; refuses (throws) when one of that name exists. */
  create(): this {
    if (existsSync(this.path) || this.id() !== undefined)
      throw new Error(`network namespace ${this.name} exists already: not this test's, left alone`);
    ip('netns', 'add', this.name);
    this.made = this.id();
    return this;
  }

  /** Deletes it when this object created it and it is still that namespace; else does nothing. */
  remove(): void {
    if (this.made === undefined) return;
    if (this.id() === this.made) ip('netns', 'del', this.name);
    this.made = undefined;
  }
}

/**
 * Adds `allow BRIDGE` to the ACL file (QEMU's /etc/qemu/bridge.conf) and returns what puts the
 * file back as it was: its old text, or no file when there was none.
 */
export function allowBridge(acl: string, bridge: string): () => void {
  const before = existsSync(acl) ? readFileSync(acl, 'utf8') : undefined;
  mkdirSync(dirname(acl), { recursive: true });
  writeFileSync(acl, `${before ?? ''}allow ${bridge}\n`);
  return () => {
    if (before === undefined) rmSync(acl, { force: true });
    else writeFileSync(acl, before);
  };
}
