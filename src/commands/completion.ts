// `boxfest completion bash|zsh|fish`: a completion script for the shell, made from the commands
// cac knows (names and flags), and `boxfest completion machines`, which the scripts call for the
// machine names of the Boxfile at or above the current directory (YAML only: no validation, no
// I/O beyond reading the file, and silence on any problem, as a completion must be).
import { readFileSync } from 'node:fs';
import type { CAC } from 'cac';
import { findBoxfile } from '../config/find.js';
import { loadBoxfile } from '../config/load.js';
import { BoxfestError } from '../errors.js';
import type { CommandOptions } from './output.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

export interface CommandShape {
  name: string;
  /** Long and short flags, e.g. `--force`, `-f`. */
  flags: string[];
  /** Whether its arguments are machine names. */
  machines: boolean;
  /** Fixed first arguments (e.g. `completion`'s shells, `box`'s actions). */
  words: string[];
}

/** What a completion needs of each command, read from cac (`<action>` lists come from `words`). */
export function commandShapes(cli: CAC, words: Record<string, string[]> = {}): CommandShape[] {
  return cli.commands
    .filter((c) => c.name !== '')
    .map((c) => ({
      name: c.name,
      flags: [...new Set(c.options.flatMap((o) => o.rawName.match(/--?[A-Za-z][\w-]*/g) ?? []))],
      machines: /machine/.test(c.rawName),
      words: words[c.name] ?? [],
    }));
}

/** Single-quoted for a POSIX shell or fish (the words here never hold a quote). */
const q = (words: readonly string[]) => `'${words.join(' ')}'`;

function bash(shapes: readonly CommandShape[]): string {
  const cases = shapes
    .map((s) => {
      const args = [
        ...(s.words.length > 0 ? [`[ "$COMP_CWORD" -eq 2 ] && words=${q(s.words)}`] : []),
        ...(s.machines ? ['words="$words $(boxfest completion machines 2>/dev/null)"'] : []),
      ];
      return `    ${s.name}) flags=${q(s.flags)}; ${args.join('; ') || ':'} ;;`;
    })
    .join('\n');
  return `# boxfest completion for bash: eval "$(boxfest completion bash)" (e.g. in ~/.bashrc)
_boxfest() {
  local cur=\${COMP_WORDS[COMP_CWORD]} flags="" words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${q(['--help', '--version', ...shapes.map((s) => s.name)])} -- "$cur"))
    return
  fi
  case \${COMP_WORDS[1]} in
${cases}
  esac
  case $cur in
    -*) COMPREPLY=($(compgen -W "$flags --help" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
  esac
}
complete -F _boxfest boxfest
`;
}

function zsh(shapes: readonly CommandShape[]): string {
  // zsh runs the bash function through its bash completion layer: one definition to keep right.
  return `# boxfest completion for zsh: eval "$(boxfest completion zsh)" (e.g. in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(shapes).split('\n').slice(1).join('\n')}`;
}

function fish(shapes: readonly CommandShape[]): string {
  const lines = [
    '# boxfest completion for fish: boxfest completion fish > ~/.config/fish/completions/boxfest.fish',
    'complete -c boxfest -f',
    ...shapes.map((s) => `complete -c boxfest -n "__fish_use_subcommand" -a ${q([s.name])}`),
    `complete -c boxfest -n "__fish_use_subcommand" -l help -l version`,
    ...shapes.flatMap((s) => {
      const on = `-n "__fish_seen_subcommand_from ${s.name}"`;
      return [
        ...s.flags.map((f) =>
          f.startsWith('--')
            ? `complete -c boxfest ${on} -l ${f.slice(2)}`
            : `complete -c boxfest ${on} -s ${f.slice(1)}`,
        ),
        ...(s.words.length > 0 ? [`complete -c boxfest ${on} -a ${q(s.words)}`] : []),
        ...(s.machines ? [`complete -c boxfest ${on} -a "(boxfest completion machines 2>/dev/null)"`] : []),
      ];
    }),
  ];
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, shapes: readonly CommandShape[]): string {
  return shell === 'bash' ? bash(shapes) : shell === 'zsh' ? zsh(shapes) : fish(shapes);
}

/** The machine names of the Boxfile at or above `cwd`, in file order; [] when there is none. */
export function machineNames(cwd: string): string[] {
  try {
    const file = findBoxfile(cwd);
    const written = loadBoxfile(readFileSync(file, 'utf8'), file).written as
      { machines?: Record<string, unknown> } | undefined;
    const machines = written?.machines;
    return machines !== null && typeof machines === 'object' ? Object.keys(machines) : [];
  } catch {
    return [];
  }
}

export function completion(
  cwd: string,
  what: string,
  shapes: readonly CommandShape[],
  o: CommandOptions,
): Promise<number> {
  if (what === 'machines') {
    const names = machineNames(cwd);
    o.print(o.json ? JSON.stringify(names) : names.join('\n'));
  } else if ((SHELLS as readonly string[]).includes(what)) {
    o.print(completionScript(what as Shell, shapes));
  } else
    throw new BoxfestError('USAGE', `no completion for \`${what}\``, {
      hint: `use one of: ${SHELLS.join(', ')} (or \`machines\`: the names the scripts complete)`,
    });
  return Promise.resolve(0);
}
