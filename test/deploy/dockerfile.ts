/**
 * A small Dockerfile reader for the tests: stages with their instructions
 * (line continuations joined, comments dropped). Enough to check what the
 * image promises without a Docker engine.
 */
export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const logical: string[] = [];
  let buf = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!buf && (line.trim().startsWith('#') || !line.trim())) continue;
    if (line.endsWith('\\')) {
      buf += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push((buf + line).trim());
    buf = '';
  }
  if (buf.trim()) logical.push(buf.trim());

  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) continue;
    const op = m[1].toUpperCase();
    const rest = m[2].trim();
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`cannot read FROM ${rest}`);
      stages.push({ from: expand(f[1], args), name: f[2], instructions: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const eq = rest.indexOf('=');
      if (eq < 0) args[rest] = '';
      else args[rest.slice(0, eq)] = expand(rest.slice(eq + 1), args);
    } else {
      if (!stages.length) throw new Error(`${op} before the first FROM`);
      stages[stages.length - 1].instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

/** `${NAME}` / `$NAME` replaced by the ARG defaults declared so far (unknown ones kept). */
function expand(value: string, args: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => {
    const v = args[a ?? b];
    return v ?? `\${${a ?? b}}`;
  });
}

/** The JSON array of an exec-form instruction (CMD/ENTRYPOINT), or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const v: unknown = JSON.parse(args);
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}
