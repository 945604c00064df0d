/**
 * A strict reader of Prometheus' text exposition format 0.0.4 for tests: every line must be empty, a comment, a
 * HELP or TYPE line, or a sample `name{label="value",...} value [timestamp]` with the format's escapes; anything else
 * throws, naming the line. (The one parser on npm, parse-prometheus-text-format, folds the label sets of a
 * labelled histogram into one, so tests could not tell two operations apart with it.)
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parsePrometheusText(text: string): PromFamily[] {
  const families = new Map<string, PromFamily>();
  const familyOf = (name: string): PromFamily => {
    let family = families.get(name);
    if (!family) {
      family = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, family);
    }
    return family;
  };
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition does not end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') return; // empty lines are ignored (the format says so)
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type, ${where}`);
        familyOf(name).type = rest as PromFamily['type'];
      } else {
        familyOf(name).help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      return;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!sample) throw new Error(`not a sample, ${where}`);
    const [, name, labelText, valueText] = sample as unknown as [string, string, string | undefined, string];
    // Prometheus reads values with Go's ParseFloat: Inf and NaN in any letter case
    const special = valueText.toLowerCase();
    const value = special === '+inf' || special === 'inf' ? Infinity : special === '-inf' ? -Infinity : special === 'nan' ? NaN : Number(valueText);
    if (Number.isNaN(value) && special !== 'nan') throw new Error(`bad value, ${where}`);
    const labels: Record<string, string> = {};
    if (labelText) {
      const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"\s*(,|$)/y;
      let at = 0;
      while (at < labelText.length) {
        label.lastIndex = at;
        const match = label.exec(labelText);
        if (!match) throw new Error(`bad labels, ${where}`);
        const [, key, raw] = match as unknown as [string, string, string];
        if (key in labels) throw new Error(`label ${key} twice, ${where}`);
        labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        at = label.lastIndex;
      }
    }
    const base = families.has(name) ? name : SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : null)).find((b) => b && families.has(b));
    if (!base) throw new Error(`sample of an undeclared family, ${where}`);
    familyOf(base).samples.push({ name, labels, value });
  });
  return [...families.values()];
}
