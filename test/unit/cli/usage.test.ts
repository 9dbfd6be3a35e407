// Command-line mistakes are usage errors: exit 2, the command's usage, a did-you-mean, and never
// an internal error with a stack. Run through the real entry point (main), in process.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs boxfest with `argv` in an empty directory: exit code and what it printed. */
async function run(argv: string[], platform: NodeJS.Platform = 'linux') {
  const cwd = mkdtempSync(join(tmpdir(), 'boxfest-cli-'));
  dirs.push(cwd);
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((t) => ((stdout += String(t)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((t) => ((stderr += String(t)), true));
  const code = await main(argv, cwd, platform);
  vi.restoreAllMocks();
  // A usage error touches nothing: the directory it ran in is still empty.
  expect(readdirSync(cwd)).toEqual([]);
  return { code, stdout, stderr };
}

const parallelError = (given: string) =>
  `error: \`--parallel\` takes how many machines may boot at once (a whole number, 1 or more), not "${given}" [USAGE]`;

const cases: { argv: string[]; first: string; hint: string; usage?: string }[] = [
  ...['0', 'x', '-1', '1.5', '99999'].map((n) => ({
    argv: ['up', `--parallel=${n}`],
    first: parallelError(n),
    hint: 'see `boxfest up --help`',
    usage: 'usage: boxfest up [...machines] [options]',
  })),
  {
    argv: ['reload', '--parallel', 'web'],
    first: parallelError('web'),
    hint: 'see `boxfest reload --help`',
    usage: 'usage: boxfest reload [...machines] [options]',
  },
  {
    argv: ['up', '--relaod'],
    first: 'error: unknown option `--relaod` for `boxfest up` [USAGE]',
    hint: 'did you mean `--reload`? see `boxfest up --help`',
    usage: 'usage: boxfest up [...machines] [options]',
  },
  {
    argv: ['box', 'add', 'x', 'y', '--bogus'],
    first: 'error: unknown option `--bogus` for `boxfest box` [USAGE]',
    hint: 'see `boxfest box --help`',
    usage: 'usage: boxfest box <action> [...args] [options]',
  },
  {
    argv: ['destroy', '--forse'],
    first: 'error: unknown option `--forse` for `boxfest destroy` [USAGE]',
    hint: 'did you mean `--force`? see `boxfest destroy --help`',
    usage: 'usage: boxfest destroy [...machines] [options]',
  },
  {
    argv: ['halt', '-x'],
    first: 'error: unknown option `-x` for `boxfest halt` [USAGE]',
    hint: 'see `boxfest halt --help`',
    usage: 'usage: boxfest halt [...machines] [options]',
  },
  {
    argv: ['status', '--jsno'],
    first: 'error: unknown option `--jsno` for `boxfest status` [USAGE]',
    hint: 'did you mean `--json`? see `boxfest status --help`',
  },
  {
    argv: ['provision', '--wiht', 'x'],
    first: 'error: unknown option `--wiht` for `boxfest provision` [USAGE]',
    hint: 'did you mean `--with`? see `boxfest provision --help`',
  },
  {
    argv: ['ssh', 'a', 'b'],
    first: 'error: too many arguments for `boxfest ssh`: `b` [USAGE]',
    hint: 'see `boxfest ssh --help`',
    usage: 'usage: boxfest ssh [machine] [options]',
  },
  {
    argv: ['validate', 'extra'],
    first: 'error: too many arguments for `boxfest validate`: `extra` [USAGE]',
    hint: 'see `boxfest validate --help`',
    usage: 'usage: boxfest validate [options]',
  },
  {
    argv: ['global-status', 'x', 'y'],
    first: 'error: too many arguments for `boxfest global-status`: `x`, `y` [USAGE]',
    hint: 'see `boxfest global-status --help`',
  },
  {
    argv: ['snapshot'],
    first: 'error: missing arguments for `boxfest snapshot` [USAGE]',
    hint: 'see `boxfest snapshot --help`',
  },
  {
    argv: ['box'],
    first: 'error: missing arguments for `boxfest box` [USAGE]',
    hint: 'see `boxfest box --help`',
  },
  {
    argv: ['stauts'],
    first: 'error: unknown command `stauts` [USAGE]',
    hint: 'did you mean `status`? see `boxfest --help`',
  },
  {
    argv: ['frobnicate'],
    first: 'error: unknown command `frobnicate` [USAGE]',
    hint: 'see `boxfest --help`',
  },
  {
    argv: ['box', 'ad', 'x', 'y'],
    first: 'error: unknown action `box ad` [USAGE]',
    hint: 'did you mean `add`? see `boxfest box --help`',
  },
  {
    argv: ['box', 'constructor'],
    first: 'error: unknown action `box constructor` [USAGE]',
    hint: 'see `boxfest box --help`',
  },
  {
    argv: ['box', 'add', 'a', 'b', 'c'],
    first:
      'error: `box add` takes SOURCE, or NAME SOURCE [--name N] [--box-version V] [--checksum TYPE:HEX] [--provider P] [--ca-cert FILE] [--ssh-user U] [--ssh-key K | --cloud-init] [--disk-interface virtio|nvme] [--force], not `a b c` [USAGE]',
    hint: 'see `boxfest box --help`',
  },
  {
    argv: ['box', 'list', 'extra'],
    first: 'error: `box list` takes no arguments, not `extra` [USAGE]',
    hint: 'see `boxfest box --help`',
  },
  {
    argv: ['snapshot', 'sav', 'x'],
    first: 'error: unknown action `snapshot sav` [USAGE]',
    hint: 'did you mean `save`? see `boxfest snapshot --help`',
  },
  {
    argv: ['snapshot', 'save'],
    first: "error: `snapshot save` needs the snapshot's NAME [USAGE]",
    hint: 'e.g. `boxfest snapshot save before-upgrade`',
  },
  {
    argv: ['ssh', '--command'],
    first: 'error: option `-c, --command <cmd>` value is missing [USAGE]',
    hint: 'see `boxfest ssh --help`',
  },
];

describe('usage errors', () => {
  it.each(cases)('boxfest $argv', async ({ argv, first, hint, usage }) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(first);
    expect(r.stderr).toContain(`  hint: ${hint}\n`);
    if (usage !== undefined) expect(r.stderr).toContain(`    ${usage}\n`);
    expect(r.stderr).not.toMatch(/internal error|CACError|\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('with --json the usage error is the JSON document, exit 2', async () => {
    const r = await run(['up', '--relaod', '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    expect(doc.error).toMatchObject({
      code: 'USAGE',
      message: 'unknown option `--relaod` for `boxfest up`',
      hint: 'did you mean `--reload`? see `boxfest up --help`',
    });
  });
});

describe('hosts other than Linux', () => {
  it.each(['darwin', 'win32', 'freebsd'] as const)(
    '%s: says so at start, touches nothing',
    async (platform) => {
      const r = await run(['status'], platform);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: boxfest runs on Linux hosts only for now; this is ${platform} [UNSUPPORTED_HOST]\n` +
          '  hint: run it on a Linux machine (or a Linux VM); other hosts are planned\n',
      );
    },
  );

  it('--help and --version still work there', async () => {
    expect((await run(['--version'], 'darwin')).code).toBe(0);
  });
});
