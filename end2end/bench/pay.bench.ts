// POST /pay with 4242, one fresh shopper at a time: the round trip and the server's own share
// (total minus the time waiting on Stripe, from the Server-Timing header).
import { test } from '@playwright/test';
import { save, server, serverTiming, summary } from './measure';

test('pay round trip', async () => {
  const rounds = Number(process.env.BENCH_PAY_ROUNDS ?? 300);
  const total: number[] = [];
  const app: number[] = [];
  const stripe: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const page = await fetch(`${server}/`);
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    await page.text();
    const started = performance.now();
    const paid = await fetch(`${server}/pay`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: cookie },
      body: JSON.stringify({ payment_method_id: 'pm_card_visa' }),
    });
    const body = await paid.json();
    const elapsed = performance.now() - started;
    if (!body.success) throw new Error(`pay failed: ${JSON.stringify(body)}`);
    if (i < 20) continue; // warm-up
    const timing = serverTiming(paid.headers.get('server-timing'));
    total.push(elapsed);
    app.push(timing.app);
    stripe.push(timing.stripe);
  }
  save('pay', { total_ms: summary(total), server_share_ms: summary(app), stripe_ms: summary(stripe) });
});
