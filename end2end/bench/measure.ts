// Small helpers shared by the benchmark scripts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const server = process.env.BENCH_URL ?? 'http://127.0.0.1:3200';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0], max: sorted[sorted.length - 1] };
}

export function save(name: string, figures: object) {
  const dir = process.env.BENCH_OUT ?? '.';
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(figures, null, 2));
  console.log(name, JSON.stringify(figures));
}

/// `Server-Timing: app;dur=0.41, stripe;dur=3.20` → { app: 0.41, stripe: 3.2 }
export function serverTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*([a-z_]+)\s*;\s*dur=([0-9.]+)/.exec(part);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
