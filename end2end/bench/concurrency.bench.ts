// 200 checkouts at once (page, then POST /pay 4242), with the server's resident memory
// before and at its peak (VmRSS idle, VmHWM after), read from /proc.
import { test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { save, server } from './measure';

function memory(pid: string, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field))!;
  return Number(/(\d+)/.exec(line)![1]) / 1024; // MiB
}

test('200 concurrent checkouts', async () => {
  const pid = process.env.BENCH_PID!;
  const idle = memory(pid, 'VmRSS');
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const page = await fetch(`${server}/`);
      const cookie = page.headers.get('set-cookie')!.split(';')[0];
      await page.text();
      const paid = await fetch(`${server}/pay`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: cookie },
        body: JSON.stringify({ payment_method_id: 'pm_card_visa' }),
      });
      return (await paid.json()).success === true;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (results.some((ok) => !ok)) throw new Error('a checkout failed');
  save('concurrency', { checkouts: 200, seconds, rss_idle_mib: idle, rss_peak_mib: memory(pid, 'VmHWM') });
});
