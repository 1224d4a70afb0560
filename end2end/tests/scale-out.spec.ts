// Several checkout servers on one PostgreSQL database (scripts/test.sh's PostgreSQL pass):
// checkouts spread across two servers, a server killed while it holds an order, and the
// database stopped for ten seconds under load. Every server talks to the one standalone
// emulator, as servers behind a load balancer talk to one Stripe.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { emulatorURL } from '../emulator';
import { clearFaults, injectFault, orderRecord } from '../checkout-helpers';
import { freshDatabase, killServer, pay, shopper, sql, startServer } from '../server-process';

test.skip(!process.env.E2E_POSTGRES, 'runs on PostgreSQL (scripts/test.sh sets E2E_POSTGRES)');
test.describe.configure({ mode: 'serial' });

// The faults are the standalone emulator's: the one Stripe of these servers.
test.afterEach(async () => clearFaults(emulatorURL));

async function intentsOf(references: Set<string>) {
  const state = await (await fetch(`${emulatorURL}/_emulator/state`)).json();
  const intents = state.payment_intents.filter((pi: any) => references.has(pi.metadata.order_reference));
  const ids = new Set(intents.map((pi: any) => pi.id));
  const charges = state.charges.filter((c: any) => ids.has(c.payment_intent) && c.status === 'succeeded');
  return { intents, charges };
}

test('200 concurrent checkouts spread across two servers: 200 paid orders, 200 intents, no duplicate', async () => {
  test.setTimeout(120_000);
  const database = freshDatabase();
  const servers = [await startServer(3121, database), await startServer(3122, database)];
  try {
    const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      // The page from one server, the payment through the other: they share the cookie key.
      const who = await shopper(servers[i % 2]);
      return { ...who, ...(await pay(servers[(i + 1) % 2], who)) };
    }));
    expect(results.filter((r) => r.status !== 200 || r.body.success !== true)).toEqual([]);
    const references = new Set(results.map((r) => r.reference));
    expect(references.size).toBe(200);
    const { intents, charges } = await intentsOf(references);
    expect(intents).toHaveLength(200);
    expect(charges).toHaveLength(200);
    expect(sql(database, "SELECT COUNT(*) AS orders, COUNT(*) FILTER (WHERE status = 'paid') AS paid, (SELECT COUNT(*) FROM fulfilments) AS fulfilments FROM orders"))
      .toEqual([{ orders: 200, paid: 200, fulfilments: 200 }]);
  } finally {
    await Promise.all(servers.map(killServer));
  }
});

test('a server killed while it holds an order: the other completes the payment once its lease runs out', async () => {
  test.setTimeout(120_000);
  const database = freshDatabase();
  // Short Stripe timeouts make a short lease: 4 × (3 tries × 500 ms + backoff) + 10 s.
  const fast = { STRIPE_TIMEOUT_MS: '500' };
  const a = await startServer(3123, database, undefined, fast);
  const b = await startServer(3124, database, undefined, fast);
  try {
    const who = await shopper(a);
    // Stripe hangs on the create: server A holds the order's lease while it waits.
    await injectFault({ method: 'POST', path: '/v1/payment_intents', kind: 'hang', count: 1 }, emulatorURL);
    // Its answer never comes: the server dies first.
    const first = pay(a, who).catch(() => undefined);
    await expect.poll(() => sql(database, `SELECT lease_token FROM orders WHERE reference = '${who.reference}'`)[0]?.lease_token ?? null).not.toBeNull();
    await killServer(a);
    await first;
    // Server B refuses while A's lease runs, then completes the same order.
    const refused = await pay(b, who);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    const started = Date.now();
    let answer = refused;
    while (answer.status === 409 && Date.now() - started < 60_000) {
      await new Promise((r) => setTimeout(r, 1000));
      answer = await pay(b, who);
    }
    expect(answer, 'paid through the other server').toEqual({ status: 200, body: { success: true } });
    console.log(`paid through the other server ${((Date.now() - started) / 1000).toFixed(1)} s after server A died`);
    const { intents, charges } = await intentsOf(new Set([who.reference]));
    expect(intents.map((pi: any) => pi.status)).toEqual(['succeeded']);
    expect(charges).toHaveLength(1);
    expect(orderRecord(who.reference, database)).toMatchObject({ status: 'paid', fulfilments: 1 });
  } finally {
    await killServer(a);
    await killServer(b);
  }
});

/// Stops or starts the test cluster (scripts/postgres.sh, whose settings test.sh exports).
function cluster(action: 'stop' | 'start') {
  execFileSync('bash', ['-c', `source scripts/postgres.sh && postgres_${action}_server`], { cwd: '..', stdio: 'inherit' });
}

test('PostgreSQL stopped for 10 s under load: retryable errors meanwhile, /healthz 503 then 200, every order paid once', async () => {
  test.setTimeout(180_000);
  const database = freshDatabase();
  const servers = [await startServer(3125, database), await startServer(3126, database)];
  const health: number[] = [];
  const errors: { status: number; error: string }[] = [];
  let stopped = false;
  try {
    const shoppers = await Promise.all(Array.from({ length: 40 }, (_, i) => shopper(servers[i % 2])));
    // Each shopper pays, and pays again after a retryable error, until paid.
    const checkouts = shoppers.map(async (who, i) => {
      await new Promise((r) => setTimeout(r, i * 300));
      for (let attempt = 0; attempt < 200; attempt++) {
        const answer = await pay(servers[(i + attempt) % 2], who).catch(() => ({ status: 0, body: { error: 'no answer' } }));
        if (answer.status === 200 && answer.body.success) return who;
        errors.push({ status: answer.status, error: answer.body.error });
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`${who.reference} never paid`);
    });
    let done = false;
    const healthz = async () => (await fetch(`${servers[0].url}/healthz`).catch(() => ({ status: 0 }))).status;
    const watch = (async () => {
      while (!done) {
        health.push(await healthz());
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    cluster('stop');
    stopped = true;
    const down = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    cluster('start');
    stopped = false;
    console.log(`database down ${((Date.now() - down) / 1000).toFixed(1)} s`);
    const paid = await Promise.all(checkouts);
    done = true;
    await watch;
    health.push(await healthz());

    const count = (list: number[], status: number) => list.filter((s) => s === status).length;
    console.log(`/healthz: ${count(health, 503)} × 503 of ${health.length}; shoppers' errors: ${count(errors.map((e) => e.status), 503)} × 503, ${count(errors.map((e) => e.status), 409)} × 409`);
    expect(health).toContain(503);
    expect(health.at(-1), '/healthz back to 200').toBe(200);
    // The shoppers were told to try again: the database (503) or a payment step in progress (409).
    expect(errors.length, 'some payments met the outage').toBeGreaterThan(0);
    expect(errors.filter((e) => e.status !== 503 && e.status !== 409), JSON.stringify(errors.slice(0, 5))).toEqual([]);
    const references = new Set(paid.map((who) => who.reference));
    const { intents, charges } = await intentsOf(references);
    expect(intents).toHaveLength(40);
    expect(intents.every((pi: any) => pi.status === 'succeeded')).toBe(true);
    expect(charges).toHaveLength(40);
    expect(sql(database, "SELECT COUNT(*) AS paid, (SELECT COUNT(*) FROM fulfilments) AS fulfilments FROM orders WHERE status = 'paid'"))
      .toEqual([{ paid: 40, fulfilments: 40 }]);
  } finally {
    if (stopped) cluster('start');
    await Promise.all(servers.map(killServer));
  }
});
