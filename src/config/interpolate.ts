// `${VAR}` and `${VAR:-default}` in string values, from an environment map passed in (the
// caller reads process.env, never this module). `$${` is a literal `${`; a `$` not followed by
// `{` is left alone, so `$HOME` and `$(hostname)` in shell scripts pass through untouched.
// An unset variable without a default is an error naming it; a set but empty one gives ''
// (`:-` also replaces an empty value, as in sh).

/** Environment variables, as process.env shapes them. */
export type Vars = Readonly<Record<string, string | undefined>>;

export type Interpolated = { value: string } | { error: string; hint: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(text: string, vars: Vars): Interpolated {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) break;
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close < 0) {
      return {
        error: 'unclosed `${` in value',
        hint: 'close it with `}`, or write `$${` for a literal `${`',
      };
    }
    const body = text.slice(dollar + 2, close);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      return {
        error: `\`\${${body}}\` is not a variable reference`,
        hint: 'write `${NAME}` or `${NAME:-default}` (letters, digits, `_`), or `$${` for a literal `${`',
      };
    }
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (sep >= 0) {
      out += value === undefined || value === '' ? body.slice(sep + 2) : value;
    } else if (value === undefined) {
      return {
        error: `environment variable \`${name}\` is not set`,
        hint: `set it, or give a default: \`\${${name}:-value}\``,
      };
    } else {
      out += value;
    }
    i = close + 1;
  }
  return { value: out + text.slice(i) };
}
