// The command line: parse argv, run a command, and render every error. This is the only place
// that prints errors; stack traces appear only for bugs (or with BOXFEST_DEBUG=1).
import { cac } from 'cac';
import { readFileSync } from 'node:fs';
import { ConfigError, BoxfestError, ExitError, errorMessage } from './errors.js';
import { MachinesFailed, type CommandOptions } from './commands/output.js';
import { PACKAGE_ROOT } from './util/package-root.js';
import { COLOR_WHEN, outputMode, setOutputMode, type ColorWhen } from './util/output-mode.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }
).version;

interface Flags {
  json?: boolean;
  force?: boolean;
  parallel?: boolean | number | string;
  verbose?: boolean;
  provision?: boolean;
  reload?: boolean;
  recreate?: boolean;
  prune?: boolean;
  command?: string;
  with?: string | string[];
  sshUser?: string;
  sshKey?: string;
  cloudInit?: boolean;
  diskInterface?: string;
  name?: string;
  boxVersion?: string;
  checksum?: string;
  checksumType?: string;
  provider?: string;
  caCert?: string;
  dryRun?: boolean;
  global?: boolean;
  output?: string;
  vagrantfile?: string;
  include?: string | string[];
  '--'?: string[];
}

export async function main(
  argvIn: string[],
  cwd = process.cwd(),
  platform: NodeJS.Platform = process.platform,
): Promise<number> {
  // `box remove NAME --version V` (as people type it) is `--box-version`: cac keeps --version
  // for boxfest's own version.
  const argv =
    argvIn[0] === 'box'
      ? argvIn.map((a) => (a === '--version' ? '--box-version' : a.replace(/^--version=/, '--box-version=')))
      : argvIn;
  let json = argv.includes('--json');
  const out: CommandOptions = {
    json,
    print: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    note: (t) => {
      if (!outputMode().quiet) process.stderr.write(t + '\n');
    },
  };
  const cli = cac('boxfest');
  // String options as written: cac's parser makes `--ssh-user 007` the number 7 and `''` a 0.
  const raw = (long: string, short?: string) => rawOptionValues(argv, long, short);
  let pending: Promise<number> | undefined;
  const run = (f: () => Promise<number>) => {
    pending = f();
  };
  const opts = (f: Flags): CommandOptions => ({ ...out, json: f.json === true });
  // `--parallel N`: how many guests boot at once; a bare `--parallel` (or none) is the default.
  const bootLimit = async (f: Flags): Promise<number | undefined> => {
    if (f.parallel === undefined || typeof f.parallel === 'boolean') return undefined;
    const given = raw('--parallel').at(-1) ?? String(f.parallel);
    if (/^[1-9][0-9]{0,3}$/.test(given)) return Number(given);
    const { quoteForMessage } = await import('./config/names.js');
    const { usageError } = await import('./cli-usage.js');
    throw await usageError(
      cli.matchedCommand!,
      `\`--parallel\` takes how many machines may boot at once (a whole number, 1 or more), not ${quoteForMessage(given)}`,
    );
  };
  const upFlags = async (f: Flags) => ({
    ...opts(f),
    parallel: f.parallel !== false,
    bootLimit: await bootLimit(f),
    verbose: f.verbose === true,
    provision: argv.includes('--no-provision')
      ? ('none' as const)
      : argv.includes('--provision')
        ? ('all' as const)
        : ('auto' as const),
    reload: f.reload === true,
    recreate: f.recreate === true,
    prune: f.prune === true,
  });

  cli
    .command('up [...machines]', 'Create, start and provision machines to match the Boxfile')
    .option(
      '--parallel [n]',
      'Boot at most N machines at once (default: one per core, more while the host is idle)',
    )
    .option('--no-parallel', 'Bring machines up one at a time')
    .option(
      '--verbose',
      "Show every step of every machine (not one line each) and keep every step's output lines",
    )
    .option('--provision', 'Run every provisioner, `once` ones too')
    .option('--no-provision', 'Run no provisioner')
    .option('--reload', 'Reboot machines whose changes need it (halt, then boot)')
    .option('--recreate', 'Destroy and create machines whose changes need a new disk')
    .option('--prune', 'Destroy machines that are no longer in the Boxfile')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => {
        const { up } = await import('./commands/up.js');
        return up(cwd, machines, await upFlags(f));
      }),
    );
  cli
    .command('reload [...machines]', 'Halt machines and boot them again with the Boxfile settings')
    .option(
      '--parallel [n]',
      'Boot at most N machines at once (default: one per core, more while the host is idle)',
    )
    .option('--no-parallel', 'One machine at a time')
    .option(
      '--verbose',
      "Show every step of every machine (not one line each) and keep every step's output lines",
    )
    .option('--provision', 'Run every provisioner, `once` ones too')
    .option('--no-provision', 'Run no provisioner')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => {
        const { up } = await import('./commands/up.js');
        return up(cwd, machines, { ...(await upFlags(f)), reload: true, reloadAll: true });
      }),
    );
  cli
    .command('suspend [...machines]', 'Pause running machines in place (memory and processes kept)')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/suspend.js')).suspend(cwd, machines, opts(f))),
    );
  cli
    .command('resume [...machines]', 'Continue suspended machines')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/suspend.js')).resume(cwd, machines, opts(f))),
    );
  cli
    .command(
      'snapshot <action> [...args]',
      'Disk snapshots: save NAME [MACHINE...] | restore NAME [MACHINE...] | list [MACHINE...] | delete NAME [MACHINE...]',
    )
    .option('--json', 'Machine-readable result')
    .action((action: string, args: string[], f: Flags) =>
      run(async () => (await import('./commands/snapshot.js')).snapshot(cwd, action, args, opts(f))),
    );
  cli
    .command('global-status', 'Every boxfest environment on this host and its machines')
    .option('--json', 'Machine-readable result')
    .action((f: Flags) =>
      run(async () => (await import('./commands/global-status.js')).globalStatus(opts(f))),
    );
  cli
    .command('halt [...machines]', 'Shut machines down (ACPI), forced after a timeout')
    .option('-f, --force', 'Power off at once')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () =>
        (await import('./commands/halt.js')).halt(cwd, machines, { ...opts(f), force: f.force === true }),
      ),
    );
  cli
    .command('destroy [...machines]', 'Delete machines and everything boxfest created for them')
    .option('-f, --force', 'Do not ask for confirmation')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () =>
        (await import('./commands/destroy.js')).destroy(cwd, machines, {
          ...opts(f),
          force: f.force === true,
        }),
      ),
    );
  cli
    .command('provision [...machines]', 'Run provisioners on running machines')
    .option('--with <name>', 'Run only this provisioner (repeatable; `run: never` ones too)')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () =>
        (await import('./commands/provision.js')).provision(cwd, machines, {
          ...opts(f),
          with: raw('--with'),
        }),
      ),
    );
  cli
    .command('rsync [...machines]', 'Sync the synced folders of running machines now')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/rsync.js')).rsyncNow(cwd, machines, opts(f))),
    );
  cli
    .command('rsync-auto [...machines]', 'Sync, then watch synced folders and sync each change')
    .option('--json', 'One JSON object per sync')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/rsync-auto.js')).rsyncAuto(cwd, machines, opts(f))),
    );
  cli
    .command('status [...machines]', 'Show the state of machines')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/status.js')).status(cwd, machines, opts(f))),
    );
  cli
    .command('port [...machines]', 'List the host ports forwarded to running machines')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/port.js')).port(cwd, machines, opts(f))),
    );
  cli
    .command('plan [...machines]', 'Show what `up` would do, and why, without doing it')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/plan.js')).plan(cwd, machines, opts(f))),
    );
  cli
    .command(
      'ssh [machine]',
      'Open a shell on a machine (default: the primary one), run one command with -c, or pass OpenSSH arguments after --',
    )
    .option('-c, --command <cmd>', 'Run CMD and exit with its exit code')
    .action((machine: string | undefined, f: Flags) =>
      run(async () =>
        (await import('./commands/ssh.js')).ssh(cwd, machine, raw('--command', '-c').at(-1), f['--'] ?? []),
      ),
    );
  cli
    .command('ssh-config [...machines]', 'Print an OpenSSH config block for each machine')
    .option('--json', 'Machine-readable result')
    .action((machines: string[], f: Flags) =>
      run(async () => (await import('./commands/ssh-config.js')).sshConfig(cwd, machines, opts(f))),
    );
  cli
    .command('init [box]', 'Write a commented Boxfile.yaml here for a box (never overwrites one)')
    .option('--json', 'Machine-readable result')
    .action((box: string | undefined, f: Flags) =>
      run(async () => (await import('./commands/init.js')).init(cwd, box, opts(f))),
    );
  cli
    .command('completion <shell>', 'Print a completion script: bash, zsh or fish (machine names included)')
    .action((shell: string, f: Flags) =>
      run(async () => {
        const c = await import('./commands/completion.js');
        const words = {
          box: ['add', 'list', 'outdated', 'update', 'prune', 'remove'],
          snapshot: ['save', 'restore', 'list', 'delete'],
          completion: [...c.SHELLS],
        };
        return c.completion(cwd, shell, c.commandShapes(cli, words), opts(f));
      }),
    );
  cli
    .command('validate', 'Check the Boxfile and print every problem')
    .option('--json', 'Machine-readable result')
    .action((f: Flags) => run(async () => (await import('./commands/validate.js')).validate(cwd, opts(f))));
  cli
    .command(
      'box <action> [...args]',
      'Manage boxes: add SOURCE | add NAME SOURCE | list | outdated | update [NAME] | prune | remove NAME',
    )
    .option('--name <name>', "add: the box name (default: the catalog's, else the file name)")
    .option(
      '--box-version <v>',
      'add: a version constraint for a catalog, or the version to store a file as; remove: this version only',
    )
    .option('--checksum <sum>', 'add: TYPE:HEX (sha256, sha512, sha384, sha1, md5) of the file')
    .option('--checksum-type <type>', 'add: the type of a bare --checksum value (as Vagrant)')
    .option(
      '--provider <p>',
      'add/update: the provider the box is for (qemu or virtualbox; picks from catalogs)',
    )
    .option('--ca-cert <file>', 'add/update: extra CA certificate(s) to trust for HTTPS, PEM')
    .option(
      '--ssh-user <user>',
      'add: user of the first login (default: vagrant for Vagrant boxes, boxfest for cloud-init images, else root)',
    )
    .option(
      '--cloud-init',
      'add: a cloud image set up by cloud-init at first boot, no key (default: looked for in the image)',
    )
    .option('--ssh-key <file>', "add: private key of the first login, the box's insecure key")
    .option('--disk-interface <if>', 'add: how the guest sees its disk: virtio or nvme')
    .option(
      '-f, --force',
      'add: replace a stored box (machines keep theirs); remove: what no machine uses; prune: do not ask',
    )
    .option('--dry-run', 'prune: only show what would be removed')
    .option('--global', "outdated: every box in the store, not the project's machines")
    .option('--json', 'Machine-readable result (progress: JSON lines on stderr)')
    .action((action: string, args: string[], f: Flags) =>
      run(async () => {
        const box = await import('./commands/box.js');
        const o = opts(f);
        const usage = Object.hasOwn(BOX_USAGE, action) ? BOX_USAGE[action] : undefined;
        if (usage === undefined)
          throw await (await import('./cli-usage.js')).unknownAction('box', action, Object.keys(BOX_USAGE));
        const force = f.force === true;
        const s = (name: string) => raw(name).at(-1);
        if (action === 'add' && (args.length === 1 || args.length === 2))
          return box.boxAdd(cwd, args.map(String), {
            ...o,
            name: s('--name'),
            boxVersion: s('--box-version'),
            checksum: s('--checksum'),
            checksumType: s('--checksum-type'),
            provider: s('--provider'),
            caCert: s('--ca-cert'),
            sshUser: s('--ssh-user'),
            sshKey: s('--ssh-key'),
            cloudInit: f.cloudInit === true ? true : undefined,
            diskInterface: s('--disk-interface'),
            force,
          });
        if (action === 'list' && args.length === 0) return box.boxList(o);
        if (action === 'outdated' && args.length === 0)
          return box.boxOutdated(cwd, { ...o, global: f.global === true });
        if (action === 'update' && args.length <= 1)
          return box.boxUpdate(cwd, str(args[0]), {
            ...o,
            provider: s('--provider'),
            caCert: s('--ca-cert'),
          });
        if (action === 'prune' && args.length === 0)
          return box.boxPrune({ ...o, force, dryRun: f.dryRun === true });
        if (action === 'remove' && args.length === 1)
          return box.boxRemove(String(args[0]), {
            ...o,
            force,
            boxVersion: s('--box-version'),
            provider: s('--provider'),
          });
        throw new BoxfestError('USAGE', `\`box ${action}\` takes ${usage}, not \`${args.join(' ')}\``, {
          details: `usage: boxfest box ${action} ${usage}`,
          hint: 'see `boxfest box --help`',
        });
      }),
    );
  cli
    .command('package <machine>', 'Save a halted machine as a Vagrant-compatible libvirt .box')
    .option('--output <file>', 'The box file to write (default: package.box)')
    .option('--vagrantfile <file>', "A Vagrantfile to include (loaded by the box's own, as Vagrant does)")
    .option('--include <files>', 'Extra files to include, comma-separated (repeatable)')
    .option('--json', 'Machine-readable result')
    .action((machine: string, f: Flags) =>
      run(async () =>
        (await import('./commands/package.js')).packageMachine(cwd, machine, {
          ...opts(f),
          output: raw('--output').at(-1) ?? 'package.box',
          vagrantfile: raw('--vagrantfile').at(-1),
          include: raw('--include')
            .flatMap((i) => i.split(','))
            .filter((i) => i !== ''),
        }),
      ),
    );
  cli.option('--quiet', 'Print only results and errors (no progress, no notes)');
  cli.option('--verbose', "Show every step of every machine and keep every step's output lines");
  cli.option('--color <when>', 'Colour: always, never or auto (the default; NO_COLOR turns it off)');
  cli.help();
  cli.version(VERSION);

  try {
    cli.parse(['node', 'boxfest', ...argv], { run: false });
    if (cli.options['help'] === true || cli.options['version'] === true) return 0;
    if (cli.matchedCommand === undefined) {
      if (cli.args.length > 0) {
        const names = cli.commands.map((c) => c.name);
        throw new BoxfestError('USAGE', `unknown command \`${cli.args[0]}\``, {
          hint: `${await (await import('./cli-usage.js')).closest(String(cli.args[0]), names)}see \`boxfest --help\``,
        });
      }
      cli.outputHelp();
      return 0;
    }
    json = cli.options['json'] === true;
    setOutputMode(outputFlags(cli.options));
    // Before anything reads /proc: elsewhere every lock holder and VM would look dead.
    if (platform !== 'linux')
      throw new BoxfestError(
        'UNSUPPORTED_HOST',
        `boxfest runs on Linux hosts only for now; this is ${platform}`,
        { hint: 'run it on a Linux machine (or a Linux VM); other hosts are planned' },
      );
    try {
      await cli.runMatchedCommand();
    } catch (e) {
      // cac's own errors (an unknown option, too many or too few arguments) are usage errors.
      if (e instanceof Error && e.name === 'CACError')
        throw await (await import('./cli-usage.js')).usageError(cli.matchedCommand, e.message);
      throw e;
    }
    return await (pending ?? Promise.resolve(0));
  } catch (e) {
    return render(e, json);
  }
}

/** `--quiet`, `--verbose`, `--color WHEN`, checked (a bad WHEN is a usage error). */
function outputFlags(o: Record<string, unknown>): { quiet: boolean; verbose: boolean; color: ColorWhen } {
  const raw = o['color'];
  const color = raw === undefined ? 'auto' : typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (!(COLOR_WHEN as readonly string[]).includes(color))
    throw new BoxfestError('USAGE', `\`--color ${color}\` is not one of: ${COLOR_WHEN.join(', ')}`, {
      hint: 'use --color always, --color never or --color auto',
    });
  return { quiet: o['quiet'] === true, verbose: o['verbose'] === true, color: color as ColorWhen };
}

const BOX_USAGE: Record<string, string> = {
  add: 'SOURCE, or NAME SOURCE [--name N] [--box-version V] [--checksum TYPE:HEX] [--provider P] [--ca-cert FILE] [--ssh-user U] [--ssh-key K | --cloud-init] [--disk-interface virtio|nvme] [--force]',
  list: 'no arguments',
  outdated: 'no arguments [--global]',
  update: '[NAME] [--provider P] [--ca-cert FILE]',
  prune: 'no arguments [--dry-run] [--force]',
  remove: 'NAME [--box-version V] [--provider P] [--force]',
};

/** Every value given to a string option, as written: `--name v`, `--name=v`, `-s v`, before `--`. */
export function rawOptionValues(argv: readonly string[], long: string, short?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith(`${long}=`)) out.push(a.slice(long.length + 1));
    else if ((a === long || a === short) && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

/** A positional argument as a string (cac leaves them strings; options go through rawOptionValues). */
const str = (v: string | number | boolean | undefined): string | undefined =>
  v === undefined || v === true ? undefined : String(v);

/** Shows `e` on stderr (with --json: as one document on stdout); returns the exit code. */
export function render(e: unknown, json: boolean): number {
  if (e instanceof ExitError) return e.exitCode;
  const err = process.stderr;
  if (json) {
    process.stdout.write(JSON.stringify({ error: toJson(e) }, null, 2) + '\n');
    return exitCodeOf(e);
  }
  if (e instanceof ConfigError) {
    err.write(`error: ${e.issues[0]?.file ?? 'Boxfile'} has ${e.issues.length} problem(s):\n`);
    for (const i of e.issues) {
      err.write(`  ${i.file}:${i.line}:${i.column}  ${i.path === '' ? '' : `${i.path}: `}${i.message}\n`);
      if (i.hint !== undefined) err.write(`      hint: ${i.hint}\n`);
    }
    err.write('No machine was touched.\n');
  } else if (e instanceof MachinesFailed) {
    for (const r of e.results) {
      if (r.ok || r.error === undefined) continue;
      writeError(r.error);
      for (const u of r.rollbackErrors ?? []) {
        err.write(`  could not undo step ${u.step ?? '?'}: ${u.message} [${u.code}]\n`);
        if (u.details !== undefined && u.details !== '') err.write(u.details.replace(/^/gm, '      ') + '\n');
        if (u.hint !== undefined && u.hint !== '') err.write(`    hint: ${u.hint}\n`);
      }
    }
    err.write(`error: ${e.message}\n`);
  } else if (e instanceof BoxfestError) {
    writeError(e);
  } else {
    err.write(`internal error: ${errorMessage(e)}\n`);
    if (e instanceof Error && e.stack !== undefined) err.write(e.stack + '\n');
    err.write('This is a bug in boxfest: please report it with the command and this output.\n');
  }
  if (process.env['BOXFEST_DEBUG'] === '1' && e instanceof Error && e.stack !== undefined)
    err.write(e.stack + '\n');
  return exitCodeOf(e);
}

function writeError(e: BoxfestError): void {
  const err = process.stderr;
  const where = [
    e.machine === undefined ? '' : `machine ${e.machine}`,
    e.step === undefined ? '' : `step ${e.step}`,
  ]
    .filter((s) => s !== '')
    .join(', ');
  err.write(`error${where === '' ? '' : ` (${where})`}: ${e.message} [${e.code}]\n`);
  if (e.details !== undefined && e.details !== '') err.write(e.details.replace(/^/gm, '    ') + '\n');
  if (e.hint !== undefined && e.hint !== '') err.write(`  hint: ${e.hint}\n`);
}

function toJson(e: unknown): object {
  if (e instanceof ConfigError) return { code: e.code, message: e.message, issues: e.issues };
  if (e instanceof MachinesFailed)
    return {
      code: e.code,
      message: e.message,
      machines: e.results
        .filter((r) => !r.ok)
        .map((r) => ({
          name: r.machine,
          step: r.failedStep,
          error: r.error && toJson(r.error),
          ...(r.rollbackErrors === undefined ? {} : { rollback_errors: r.rollbackErrors.map(toJson) }),
        })),
    };
  if (e instanceof BoxfestError)
    return {
      code: e.code,
      message: e.message,
      machine: e.machine,
      step: e.step,
      hint: e.hint,
      details: e.details,
    };
  return { code: 'INTERNAL', message: errorMessage(e) };
}

function exitCodeOf(e: unknown): number {
  if (e instanceof BoxfestError && e.code === 'USAGE') return 2;
  // Ctrl-C: the shell's convention for "ended by SIGINT".
  if (e instanceof MachinesFailed && e.results.some((r) => r.error?.code === 'INTERRUPTED')) return 130;
  return 1;
}
