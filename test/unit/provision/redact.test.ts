import { describe, expect, it } from 'vitest';
import { loadEnvironmentFromText } from '../../../src/config/index.js';
import type { ShellProvisioner } from '../../../src/config/types.js';
import { envFileText, RedactedLines, redactor, shellCommand } from '../../../src/provision/shell.js';

describe('redactor', () => {
  it.each<[string[], string, string]>([
    [[], 'nothing secret', 'nothing secret'],
    [['s3cret'], 'token=s3cret; again s3cret', 'token=***; again ***'],
    // Longest first: a secret that contains another is hidden whole.
    [['abc', 'abcdef'], 'x=abcdef y=abc', 'x=*** y=***'],
    [[''], 'empty secrets are ignored', 'empty secrets are ignored'],
  ])('%j hides them in %j', (secrets, line, want) => {
    expect(redactor(secrets)(line)).toBe(want);
  });
});

/** What RedactedLines emits for `chunks` fed in turn, then flushed. */
function stream(secrets: string[], chunks: string[]): string[] {
  const out: string[] = [];
  const r = new RedactedLines((l) => out.push(l), secrets);
  for (const c of chunks) r.feed(c);
  r.flush();
  return out;
}

describe('RedactedLines: streamed output, whole values hidden', () => {
  it.each<[string, string[], string[], string[]]>([
    ['no secrets: lines as they come', [], ['a\nb', '\nc'], ['a', 'b', 'c']],
    ['a secret inside a line', ['s3cret'], ['token=s3cret\n'], ['token=***']],
    ['a secret split across chunks', ['s3cret'], ['token=s3', 'cret done\n'], ['token=*** done']],
    [
      'a multi-line secret printed whole',
      ['line-one-x\nline-two-x'],
      ['before\nline-one-x\n', 'line-two-x\nafter\n'],
      ['before', '***', 'after'],
    ],
    ['a multi-line secret in one-byte chunks', ['ab\ncd'], [...'x ab\ncd y\n'], ['x *** y']],
    [
      'a line of a multi-line secret printed alone',
      ['-----BEGIN KEY-----\nAAAAsecretbody\n-----END KEY-----'],
      ['AAAAsecretbody\n'],
      ['***'],
    ],
    [
      'text that only starts like a secret is let through once it differs',
      ['abcdef'],
      ['x abc', 'xyz\n'],
      ['x abcxyz'],
    ],
    ['an unfinished last line is flushed, redacted', ['s3cret'], ['no newline s3cret'], ['no newline ***']],
  ])('%s', (_, secrets, chunks, want) => {
    expect(stream(secrets, chunks)).toEqual(want);
  });
});

describe('secret env values never reach a command line', () => {
  const p: ShellProvisioner = {
    kind: 'shell',
    name: 'deploy',
    run: 'once',
    source: { inline: 'true' },
    args: ['first arg'],
    env: { TOKEN: "it's s3cret", MULTI: 'a\nb' },
    secrets: ["it's s3cret", 'a\nb'],
    privileged: true,
  };

  it('the env file exports each value, quoted, multi-line ones too', () => {
    expect(envFileText(p)).toBe(`export TOKEN='it'\\''s s3cret'\nexport MULTI='a\nb'\n`);
  });

  it('the command line reads the env file, removes it, then runs the script: no value on it', () => {
    const cmd = shellCommand(p, '/tmp/boxfest-provision.abc', '/tmp/boxfest-env.def');
    expect(cmd).toBe(
      ". /tmp/boxfest-env.def; rm -f /tmp/boxfest-env.def; sh /tmp/boxfest-provision.abc 'first arg'; rc=$?; rm -f /tmp/boxfest-provision.abc; exit $rc",
    );
    expect(cmd).not.toContain('s3cret');
  });

  it('an invalid variable name is refused before anything is uploaded', () => {
    expect(() => envFileText({ ...p, env: { 'A-B': 'x' } })).toThrow('`A-B` is not a valid variable name');
  });
});

describe('which env values are secret', () => {
  const text = `version: 1
machines:
  web:
    box: tiny
    provision:
      - env:
          MARKED: { value: m-value, secret: true }
          FROM_HOST: "\${TOKEN}"
          ESCAPED: "$\${NOT_A_REF}"
          DEFAULTED: "\${UNSET:-fallback}"
          PLAIN: plain
        shell: env
`;
  it('marked ones and ${VAR} ones, not plain or escaped ones', () => {
    const env = loadEnvironmentFromText(
      text,
      '/p/Boxfile.yaml',
      '/p',
      { exists: () => true },
      { vars: { TOKEN: 't-value' } },
    );
    const p = env.machines[0]!.provision[0]!;
    expect(p.kind === 'shell' && p.env).toEqual({
      MARKED: 'm-value',
      FROM_HOST: 't-value',
      ESCAPED: '${NOT_A_REF}',
      DEFAULTED: 'fallback',
      PLAIN: 'plain',
    });
    expect(p.kind === 'shell' && [...p.secrets].sort()).toEqual(['fallback', 'm-value', 't-value']);
  });
});
