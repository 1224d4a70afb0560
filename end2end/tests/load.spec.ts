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

test('a first visit reads no order and stores none; a returning shopper\'s page reads its order once', async () => {
  const database = freshDatabase();
  // Every statement the store runs, logged once each with its summary (the order's read
  // starts `SELECT id, reference, status`).
  const server = await startServer(3109, database, { url: emulatorURL }, { RUST_LOG: 'info,sqlx::query=debug' });
  try {
    const orderReads = () => server.logs.join('').split('summary="SELECT id, reference, status').length - 1;
    const before = orderReads();
    const first = await fetch(`${server.url}/`);
    expect(first.status).toBe(200);
    const cookie = first.headers.get('set-cookie')!.split(';')[0];
    await first.text();
    await new Promise((r) => setTimeout(r, 200));
    expect(orderReads() - before, 'a first visit reads nothing').toBe(0);
    expect(sql(database, 'SELECT COUNT(*) AS n FROM orders')[0].n, 'a glance stores nothing').toBe(0);

    const returning = await fetch(`${server.url}/`, { headers: { Cookie: cookie } });
    expect(returning.status).toBe(200);
    await returning.text();
    await new Promise((r) => setTimeout(r, 200));
    expect(orderReads() - before, 'the returning page looks its order up').toBe(1);
  } finally {
    await killServer(server);
  }
});
