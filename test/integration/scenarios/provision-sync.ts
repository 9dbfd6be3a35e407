// Synced-folder options and every provisioner kind, on one real guest; secret env values; a
// non-root SSH user. Run for every provider.
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject } from '../harness.js';
import type { Target } from '../targets.js';

const BOXFILE = `version: 1
machines:
  web:
    box: tiny
    memory: 256
    synced_folders:
      - src: ./app
        dest: /srv/app
        exclude: [node_modules/, '*.tmp']
        delete: false
        chown: box
      - { src: ./other, dest: /srv/other, disabled: true }
    provision:
      - name: script
        shell_path: ./scripts/setup.sh
        args: [first arg, "it's $\${NOT_EXPANDED}"]
        env: { GREETING: "hello; rm -rf /" }
      - name: upload
        file: ./conf
        dest: /etc/app-conf
      - name: debug
        run: never
        shell: echo debug-ran > /root/debug
`;

export function provisionSyncScenario(t: Target): void {
  describe(`synced folder options and provisioner kinds (${t.name})`, () => {
    const p = new TestProject(
      {
        'Boxfile.yaml': t.boxfile(BOXFILE),
        'app/keep.txt': 'keep\n',
        'app/scratch.tmp': 'excluded\n',
        'app/node_modules/big.js': 'excluded\n',
        'other/never.txt': 'disabled\n',
        'scripts/setup.sh': 'printf "%s|" "$@"; echo "$GREETING"\n',
        'conf/a.conf': 'a=1\n',
        'conf/sub/b.conf': 'b=2\n',
      },
      { target: t },
    );
    let up: Awaited<ReturnType<TestProject['run']>>;
    const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;

    beforeAll(async () => {
      await t.addBox(p);
      up = await p.run(['up']);
    });
    afterAll(async () => {
      await p.cleanup();
    });

    it('up ran the shell_path script with its args and env, quoted', () => {
      expect(up.code, up.stderr + up.stdout).toBe(0);
      expect(up.stdout).toContain("web | first arg|it's ${NOT_EXPANDED}|hello; rm -rf /");
    });

    it('the file provisioner uploaded the directory tree', async () => {
      expect(await guest('cat /etc/app-conf/a.conf /etc/app-conf/sub/b.conf')).toBe('a=1\nb=2\n');
    });

    it('excludes are honoured, chown applied, a disabled folder is not synced', async () => {
      expect(await guest('ls -A /srv/app')).toBe('keep.txt\n');
      expect(await guest('stat -c %U /srv/app/keep.txt')).toBe('box\n');
      expect((await p.run(['ssh', 'web', '-c', 'test -e /srv/other'])).code).toBe(1);
    });

    it('delete: false keeps guest files whose host copy is gone', async () => {
      rmSync(join(p.root, 'app/keep.txt'));
      writeFileSync(join(p.root, 'app/new.txt'), 'new\n');
      await p.ok(['halt']);
      await p.ok(['up']);
      expect(await guest('ls -A /srv/app')).toBe('keep.txt\nnew.txt\n');
    });

    it('`run: never` runs only when named with --with', async () => {
      expect((await p.run(['ssh', 'web', '-c', 'test -e /root/debug'])).code).toBe(1);
      const r = await p.ok(['provision', '--with', 'debug']);
      expect(r.stdout).not.toContain('first arg');
      expect(await guest('cat /root/debug')).toBe('debug-ran\n');
      const bad = await p.run(['provision', '--with', 'nope']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('no provisioner named `nope`');
    });
  });

  describe(`secret env values (${t.name})`, () => {
    const p = new TestProject(
      {
        'Boxfile.yaml': t.boxfile(`version: 1
machines:
  web:
    box: tiny
    memory: 256
    provision:
      - name: leaky
        env:
          MARKED: { value: marked-s3cret, secret: true }
          FROM_HOST: "\${BOXFEST_TEST_TOKEN}"
          PLAIN: visible-value
          MULTI: { value: "first-line-of-it\\nsecond-line-of-it", secret: true }
        shell: |
          echo "marked=$MARKED host=$FROM_HOST plain=$PLAIN"
          echo "$MULTI"
          # Every process's command line, as any user of the guest sees them (ps): no secret there.
          # (A process may end between the glob and the read: its line is simply missing.)
          for c in /proc/[0-9]*/cmdline; do { tr '\\0' ' ' < "$c"; } 2>/dev/null; echo; done > /tmp/all-argv
          n=0
          for v in "$MARKED" "$FROM_HOST" "$MULTI"; do grep -c -F -e "$v" /tmp/all-argv >/dev/null && n=$((n+1)); done
          echo "secrets on a command line: $n"
          echo "env files left: $(ls /tmp/boxfest-env.* 2>/dev/null | wc -l)"
          exit 3
`),
      },
      { target: t },
    );
    afterAll(async () => {
      await p.cleanup();
    });

    it('are replaced by *** in streamed output, the error and --json; plain values are not', async () => {
      await t.addBox(p);
      const r = await p.run(['up', '--json'], { env: { BOXFEST_TEST_TOKEN: 'tok-from-host-42' } });
      expect(r.code).toBe(1);
      const all = r.stdout + r.stderr;
      expect(all).not.toContain('marked-s3cret');
      expect(all).not.toContain('tok-from-host-42');
      expect(all).not.toContain('-line-of-it');
      expect(JSON.parse(r.stdout)).toMatchObject([
        {
          machine: 'web',
          output: [
            'marked=*** host=*** plain=visible-value',
            // The two-line value is one secret: hidden whole, not left line by line.
            '***',
            'secrets on a command line: 0',
            'env files left: 0',
          ],
          error: {
            code: 'PROVISION_FAILED',
            details: expect.stringContaining('marked=*** host=***') as string,
          },
        },
      ]);
    });
  });

  describe(`a non-root SSH user (${t.name})`, () => {
    const p = new TestProject(
      {
        'Boxfile.yaml': t.boxfile(`version: 1
machines:
  web:
    box: tiny
    memory: 256
    ssh: { user: box }
    synced_folders: [{ src: ./app, dest: /srv/app }]
    provision:
      - { name: as-root, shell: 'echo "privileged as $(id -un)"; touch /root/made-by-root' }
      - { name: as-user, privileged: false, shell: 'echo "unprivileged as $(id -un)"' }
`),
        'app/hello.txt': 'hello\n',
      },
      { target: t },
    );
    afterAll(async () => {
      await p.cleanup();
    });

    it('runs privileged provisioners through sudo as root, the others as itself; syncs into root-owned paths', async () => {
      await t.addBox(p);
      const r = await p.ok(['up']);
      expect(r.stdout).toContain('web | privileged as root');
      expect(r.stdout).toContain('web | unprivileged as box');
      const guest = async (cmd: string) => (await p.ok(['ssh', 'web', '-c', cmd])).stdout;
      expect(await guest('id -un')).toBe('box\n');
      expect(await guest('cat /srv/app/hello.txt')).toBe('hello\n');
      expect(await guest('sudo -n test -e /root/made-by-root && echo yes')).toBe('yes\n');
    });
  });
}
