// 200 shoppers check out at once, each from a session of their own.
import { test, expect } from '@playwright/test';
import { emulatorURL } from '../emulator';
import { freshDatabase, killServer, pay, shopper, sql, startServer } from '../server-process';

test('200 concurrent checkouts: 200 succeeded PaymentIntents, 200 paid orders, no duplicate, no error', async () => {
  test.setTimeout(120_000);
  const database = freshDatabase();
  const server = await startServer(3108, database);
  try {
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const who = await shopper(server);
        return { reference: who.reference, ...(await pay(server, who)) };
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`200 checkouts in ${seconds.toFixed(1)} s`);
    expect(results.filter((r) => r.status !== 200 || r.body.success !== true)).toEqual([]);
    const references = new Set(results.map((r) => r.reference));
    expect(references.size).toBe(200);

    const state = await (await fetch(`${emulatorURL}/_emulator/state`)).json();
    const ours = state.payment_intents.filter((pi: any) => references.has(pi.metadata.order_reference));
    expect(ours).toHaveLength(200);
    expect(ours.every((pi: any) => pi.status === 'succeeded')).toBe(true);
    expect(new Set(ours.map((pi: any) => pi.metadata.order_reference)).size).toBe(200);

    const counts = sql(database, "SELECT COUNT(*) AS orders, COUNT(*) FILTER (WHERE status = 'paid') AS paid, (SELECT COUNT(*) FROM fulfilments) AS fulfilments FROM orders");
    expect(counts).toEqual([{ orders: 200, paid: 200, fulfilments: 200 }]);
  } finally {
    await killServer(server);
  }
});
