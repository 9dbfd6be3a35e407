// How much boxfest prints and whether in colour: `--quiet`, `--verbose`, `--color always|never|auto`
// and NO_COLOR (https://no-color.org), set once by cli.ts before any command runs.
//
// Colour comes from listr2's palette (colorette), which reads NO_COLOR / FORCE_COLOR when it is
// first imported; boxfest imports it lazily, after this is set, so the decision is made here and
// written into the environment in the form colorette obeys (its own look at argv for `--color`
// would otherwise take `--color auto` for "always").

export type ColorWhen = 'always' | 'never' | 'auto';
export const COLOR_WHEN: readonly ColorWhen[] = ['always', 'never', 'auto'];

export interface OutputMode {
  /** Only results and errors: no progress, no notes. */
  quiet: boolean;
  /** Every step of every machine (never the compact one-line view), every output line kept. */
  verbose: boolean;
  color: boolean;
}

let mode: OutputMode = { quiet: false, verbose: false, color: false };

export const outputMode = (): OutputMode => mode;

/** Whether to colour: the flag wins, then NO_COLOR, then whether stdout is a terminal. */
export function decideColor(when: ColorWhen, env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (when !== 'auto') return when === 'always';
  if (env['NO_COLOR'] !== undefined) return false;
  return isTTY && env['TERM'] !== 'dumb';
}

export function setOutputMode(
  m: { quiet: boolean; verbose: boolean; color: ColorWhen },
  env: NodeJS.ProcessEnv = process.env,
  isTTY = process.stdout.isTTY === true,
): OutputMode {
  const color = decideColor(m.color, env, isTTY);
  if (color) {
    delete env['NO_COLOR'];
    env['FORCE_COLOR'] = '1';
  } else {
    env['NO_COLOR'] = '1';
    delete env['FORCE_COLOR'];
  }
  mode = { quiet: m.quiet, verbose: m.verbose && !m.quiet, color };
  return mode;
}
