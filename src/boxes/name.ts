// The one check every box name and version passes before it reaches the store, whether it comes
// from the command line, a Boxfile's `box:` or a catalog. No I/O and no store imports, so config/
// can use it at validate time.
import { BoxfestError } from '../errors.js';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Vagrant's version strings (`12.20240503.1`, `0`, `1.0.0.rc1`): a path segment, never `.`/`..`. */
const VERSION = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

export const BOX_NAME_RULE =
  'letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud';

/** Why `name` cannot be a box name, or undefined when it can. */
export function boxNameProblem(name: string): string | undefined {
  const segments = name.split('/');
  if (segments.length > 2 || !segments.every((s) => SEGMENT.test(s)))
    return `\`${printable(name)}\` is not a valid box name`;
  return undefined;
}

export function checkBoxName(name: string): void {
  const problem = boxNameProblem(name);
  if (problem !== undefined) throw new BoxfestError('BOX_NAME', problem, { hint: `use ${BOX_NAME_RULE}` });
}

export function boxVersionProblem(version: string): string | undefined {
  return VERSION.test(version) ? undefined : `\`${printable(version)}\` is not a valid box version`;
}

export function checkBoxVersion(version: string): void {
  const problem = boxVersionProblem(version);
  if (problem !== undefined)
    throw new BoxfestError('BOX_VERSION', problem, {
      hint: 'a version is numbers and letters separated by dots, such as `1.2.0` or `12.20240503.1`',
    });
}

/** A name as it may appear in a message: control characters shown escaped, cut to 60. */
function printable(s: string): string {
  const shown = JSON.stringify(s).slice(1, -1);
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}
