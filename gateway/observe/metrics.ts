/**
 * @module observe/metrics
 * A minimal Prometheus text-format registry: counters, gauges and one histogram shape. Labels
 * are closed sets chosen in code (outcome codes, states) — never patient data or user IDs.
 */

type Labels = Record<string, string>;

const key = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: string) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`metric name ${name} is not valid`);
  }
  abstract lines(): string[];
}

export class Counter extends Metric {
  #values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1) {
    const k = key(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}) {
    return this.#values.get(key(labels)) ?? 0;
  }
  lines() {
    return [...this.#values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge extends Metric {
  #values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(value: number, labels: Labels = {}) {
    this.#values.set(key(labels), value);
  }
  lines() {
    return [...this.#values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Histogram extends Metric {
  #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(name: string, help: string, readonly buckets: readonly number[]) {
    super(name, help, 'histogram');
    this.#counts = buckets.map(() => 0);
  }
  observe(value: number) {
    this.#sum += value;
    this.#count++;
    this.buckets.forEach((b, i) => {
      if (value <= b) this.#counts[i]!++;
    });
  }
  lines() {
    return [
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.#counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.#count}`,
      `${this.name}_sum ${this.#sum}`,
      `${this.name}_count ${this.#count}`,
    ];
  }
}

export class MetricsRegistry {
  #metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
  /** The whole registry in Prometheus text exposition format 0.0.4. */
  render(): string {
    return (
      this.#metrics.flatMap((m) => [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines()]).join('\n') + '\n'
    );
  }
}
