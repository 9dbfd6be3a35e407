// Usage errors, loaded only when one happens (cli.ts stays small on every command's path): what
// was wrong with the command line, the command's usage, and a did-you-mean.
import type { cac } from 'cac';
import { BoxfestError } from './errors.js';

/** `box frobnicate`: which actions there are, and the closest one. */
export async function unknownAction(
  command: string,
  action: string,
  actions: readonly string[],
): Promise<BoxfestError> {
  return new BoxfestError('USAGE', `unknown action \`${command} ${action}\``, {
    details: `actions: ${actions.join(', ')}`,
    hint: `${await closest(action, actions)}see \`boxfest ${command} --help\``,
  });
}

type CacCommand = NonNullable<ReturnType<typeof cac>['matchedCommand']>;

/** A usage error for `command`: what was wrong, a did-you-mean, and the command's usage. */
export async function usageError(command: CacCommand, cacMessage: string): Promise<BoxfestError> {
  const option = /^Unknown option `(.+)`$/.exec(cacMessage)?.[1];
  const known = [...command.options, ...command.cli.globalCommand.options].flatMap((o) =>
    o.rawName
      .split(/[ ,]+/)
      .filter((n) => n.startsWith('-'))
      .map((n) => n.replace(/[<[].*$/, '')),
  );
  const message =
    option !== undefined
      ? `unknown option \`${option}\` for \`boxfest ${command.name}\``
      : cacMessage.startsWith('Unused args')
        ? `too many arguments for \`boxfest ${command.name}\`: ${cacMessage.replace(/^Unused args: /, '')}`
        : cacMessage.startsWith('missing required args')
          ? `missing arguments for \`boxfest ${command.name}\``
          : lowerFirst(cacMessage);
  return new BoxfestError('USAGE', message, {
    details: usageOf(command),
    hint: `${option === undefined || option.length <= 2 ? '' : await closest(option, known)}see \`boxfest ${command.name} --help\``,
  });
}

/** `usage: boxfest up [...machines] [options]` and one line per option. */
function usageOf(command: CacCommand): string {
  const options = command.options.map((o) => `  ${o.rawName.padEnd(24)} ${o.description}`);
  return [`usage: boxfest ${command.rawName}${options.length > 0 ? ' [options]' : ''}`, ...options].join(
    '\n',
  );
}

/** "did you mean `x`? " when one of `known` is close to `word`, else nothing. Only errors need it. */
export async function closest(word: string, known: readonly string[]): Promise<string> {
  const { closestWord } = await import('./config/schema.js');
  const best = closestWord(word, known);
  return best === undefined ? '' : `did you mean \`${best}\`? `;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
