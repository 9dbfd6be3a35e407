import { describe, expect, it } from 'vitest';
import { loadEnvironmentFromText } from '../../../src/config/index.js';
import { redactor } from '../../../src/provision/shell.js';

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
