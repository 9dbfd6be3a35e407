import { describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { DEFAULT_EXCLUDES, excludesFor, rsyncArgs } from '../../../src/sync/rsync.js';
import type { RsyncJob } from '../../../src/sync/rsync.js';

function job(over: Partial<RsyncJob> = {}): RsyncJob {
  return {
    machine: 'web',
    alias: 'boxfest-proj-web',
    sshConfig: '/proj/.boxfest/machines/web/ssh_config',
    src: '/proj/src',
    dest: '/srv/app',
    excludes: DEFAULT_EXCLUDES,
    ...over,
  };
}

/** The value that follows `-e`. */
const remoteShell = (args: string[]) => args[args.indexOf('-e') + 1];

describe('rsyncArgs', () => {
  it('builds the whole argument list', () => {
    expect(rsyncArgs(job())).toEqual([
      '--archive',
      '--delete',
      '--copy-links',
      '--no-owner',
      '--no-group',
      '--protect-args',
      '--stats',
      '--exclude=.boxfest/',
      '--exclude=.git/',
      '-e',
      "ssh -F '/proj/.boxfest/machines/web/ssh_config'",
      '/proj/src/',
      'boxfest-proj-web:/srv/app',
    ]);
  });

  it.each([
    ['/proj/src', '/proj/src/'],
    ['/proj/src/', '/proj/src/'],
    ['/', '/'],
    ['/proj/with space', '/proj/with space/'],
  ])('src %j becomes %j', (src, expected) => {
    const args = rsyncArgs(job({ src }));
    expect(args.at(-2)).toBe(expected);
  });

  it.each<[string[], string[]]>([
    [[], []],
    [['.git/'], ['--exclude=.git/']],
    [
      ['node_modules/', '*.log', 'dir with space/'],
      ['--exclude=node_modules/', '--exclude=*.log', '--exclude=dir with space/'],
    ],
  ])('excludes %j', (excludes, expected) => {
    expect(rsyncArgs(job({ excludes })).filter((a) => a.startsWith('--exclude'))).toEqual(expected);
  });

  it.each([
    ['/proj/.boxfest/machines/web/ssh_config', "ssh -F '/proj/.boxfest/machines/web/ssh_config'"],
    ['/home/me/my project/ssh_config', "ssh -F '/home/me/my project/ssh_config'"],
    ['/home/me/say "hi"/ssh_config', `ssh -F '/home/me/say "hi"/ssh_config'`],
    ["/home/me/it's/ssh_config", `ssh -F "/home/me/it's/ssh_config"`],
    ["/home/me/it's here/ssh_config", `ssh -F "/home/me/it's here/ssh_config"`],
  ])('-e quotes ssh config %j', (sshConfig, expected) => {
    expect(remoteShell(rsyncArgs(job({ sshConfig })))).toBe(expected);
  });

  it('rejects an ssh config path with both kinds of quote', () => {
    const sshConfig = `/home/me/it's "odd"/ssh_config`;
    expect(() => rsyncArgs(job({ sshConfig }))).toThrow(BoxfestError);
    expect(() => rsyncArgs(job({ sshConfig }))).toThrow(
      expect.objectContaining({
        code: 'PATH_UNSUPPORTED',
        message: `rsync cannot be given a path with both kinds of quote: ${sshConfig}`,
      }),
    );
  });

  it.each([
    ['boxfest-proj-web', '/srv/app', 'boxfest-proj-web:/srv/app'],
    ['boxfest-p-db', '/home/user/with space', 'boxfest-p-db:/home/user/with space'],
    ['h', '/', 'h:/'],
  ])('target of %s and %s is %s, last', (alias, dest, expected) => {
    const args = rsyncArgs(job({ alias, dest }));
    expect(args.at(-1)).toBe(expected);
    expect(args.filter((a) => a === '--protect-args')).toHaveLength(1);
  });
});

describe('excludesFor', () => {
  it.each<[string[], string[]]>([
    [[], ['.boxfest/', '.git/']],
    [['node_modules/'], ['.boxfest/', '.git/', 'node_modules/']],
    [
      ['!.git/', '*.tmp'],
      ['.boxfest/', '*.tmp'],
    ],
    [['!.boxfest/', '!.git/'], []],
  ])('%j → %j', (own, want) => {
    expect(excludesFor(own)).toEqual(want);
  });
});
