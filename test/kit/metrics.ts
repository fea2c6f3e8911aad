/**
 * Reading Prometheus text exposition in tests: every sample of a metric family, with its labels,
 * so that a test asserts exact values and exact label sets.
 */

/** One sample: its labels and its value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample in an exposition text, by sample name (`x_total`, `x_bucket`, `x_count`…). */
export function parseMetrics(text: string): Map<string, Sample[]> {
  const samples = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', raw = ''] of labelText.matchAll(LABEL)) {
      labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const list = samples.get(name) ?? [];
    list.push({ labels, value: Number(value) });
    samples.set(name, list);
  }
  return samples;
}

/**
 * The samples of `name` as `{"label=value,…": value}` (labels in name order), for exact
 * comparisons with `t.same`; `drop` leaves out the named labels (a histogram's `le`).
 */
export function sampleTable(
  samples: Map<string, Sample[]>,
  name: string,
  drop: readonly string[] = [],
): Record<string, number> {
  const table: Record<string, number> = {};
  for (const sample of samples.get(name) ?? []) {
    const key = Object.keys(sample.labels)
      .filter((label) => !drop.includes(label))
      .sort()
      .map((label) => `${label}=${sample.labels[label] ?? ''}`)
      .join(',');
    table[key] = sample.value;
  }
  return table;
}
