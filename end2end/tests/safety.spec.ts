// Never charge twice, never lose an order: concurrency, faults at each Stripe step,
// and bad input, each checked against the emulator and the order database.
import { test, expect, APIRequestContext } from '@playwright/test';
import {
  answerChallenge, apiSession, appEmulator, authenticate, clearFaults, emulatorState, injectFault, intentsFor, openCheckout, orderRecord,
  succeededChargesFor, typeCard,
} from '../checkout-helpers';

const baseURL = process.env.CHECKOUT_BASE_URL ?? 'http://127.0.0.1:3000';

const session = () => apiSession({ stored: true });


/// At most one succeeded PaymentIntent for the order, and the database says the same.
async function expectPaidOnce(reference: string) {
  const intents = await intentsFor(reference);
  expect(intents, 'one PaymentIntent per order').toHaveLength(1);
  expect(intents[0].status).toBe('succeeded');
  expect(await succeededChargesFor(reference)).toHaveLength(1);
  expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: intents[0].id, fulfilments: 1 });
}

test.afterEach(async () => clearFaults());

test('20 concurrent pay calls for one order make one PaymentIntent and at most one charge', async () => {
  const { api, reference } = await session();
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } })),
  );
  const statuses = answers.map((r) => r.status());
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.every((s) => s === 200 || s === 409), JSON.stringify(statuses)).toBe(true);
  await expectPaidOnce(reference);
  await api.dispose();
});

test('a double click on pay makes one PaymentIntent', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4242424242424242');
  await page.getByTestId('pay-button').dblclick();
  await expect(page.getByTestId('payment-success')).toBeVisible();
  await expectPaidOnce(reference);
});

const STEPS = [
  { step: 'create and confirm', path: '/v1/payment_intents', card: 'pm_card_visa' },
  { step: 'reconfirm', path: '/v1/payment_intents/*/confirm', card: 'pm_card_threeDSecure2Required' },
] as const;
const KINDS = ['error500', 'hang', 'drop', 'perform_then_drop'] as const;

/// Brings the order to the step under test, injects the fault, and returns the body of the
/// POST /pay that will hit it (for reconfirm: after pay and a completed 3-D Secure).
async function bodyForStep(api: APIRequestContext, step: string, card: string, fault: object) {
  if (step !== 'reconfirm') {
    await injectFault(fault);
    return { payment_method_id: card };
  }
  const first = await (await api.post('/pay', { data: { payment_method_id: card } })).json();
  await injectFault(fault);
  return { payment_intent_id: await authenticate(first.payment_intent_client_secret) };
}

/// Succeeded intents after every try of a step failed: only `perform_then_drop` executed it.
const SUCCEEDED_AFTER_FAILED_TRIES: Record<string, number> = { error500: 0, hang: 0, drop: 0, perform_then_drop: 1 };

for (const { step, path, card } of STEPS) {
  for (const kind of KINDS) {
    test(`${kind} once at ${step}: retried with the same key, paid exactly once`, async () => {
      const { api, reference } = await session();
      const body = await bodyForStep(api, step, card, { method: 'POST', path, kind, count: 1 });
      const answer = await api.post('/pay', { data: body, timeout: 60_000 });
      expect(await answer.json()).toEqual({ success: true });
      await expectPaidOnce(reference);
      await api.dispose();
    });

    test(`${kind} on every try at ${step}: a retryable error, then paying again pays exactly once`, async () => {
      const { api, reference } = await session();
      const body = await bodyForStep(api, step, card, { method: 'POST', path, kind, count: 3 });
      const failed = await api.post('/pay', { data: body, timeout: 60_000 });
      expect(failed.status()).toBe(503);
      expect((await failed.json()).error).toContain('Please try again');
      expect((await intentsFor(reference)).filter((pi) => pi.status === 'succeeded')).toHaveLength(SUCCEEDED_AFTER_FAILED_TRIES[kind]);
      expect(orderRecord(reference).fulfilments).toBe(0);

      const again = await api.post('/pay', { data: body, timeout: 60_000 });
      expect(await again.json()).toEqual({ success: true });
      await expectPaidOnce(reference);
      await api.dispose();
    });
  }
}

test('an authentication older than an hour asks the shopper to pay again, and a fresh attempt works', async () => {
  const { api, reference } = await session();
  const first = await (await api.post('/pay', { data: { payment_method_id: 'pm_card_threeDSecure2Required' } })).json();
  const intentId = await authenticate(first.payment_intent_client_secret);
  await fetch(`${appEmulator}/_emulator/clock/advance`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"seconds": 3700}' });
  const late = await api.post('/pay', { data: { payment_intent_id: intentId } });
  expect(late.status()).toBe(402);
  expect((await late.json()).error).toContain('Please pay again');
  const fresh = await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } });
  expect(await fresh.json()).toEqual({ success: true });
  await expectPaidOnce(reference);
  await api.dispose();
});

test('a bad-input corpus gets clear 4xx answers and changes nothing', async () => {
  const { api, reference } = await session();
  const before = { order: orderRecord(reference), intents: (await emulatorState()).payment_intents.length };
  const ids = [
    '', 'pm_', 'pi_123', 'pm_ab cd', 'pm_a\u0000b', 'pm_é', 'pm_' + 'a'.repeat(300), '../../etc/passwd',
    '<script>alert(1)</script>', 'pm_a;DROP TABLE orders', 'pm_\u202eabc', 'pm_a\nb',
  ];
  type Case = { name: string; send: () => Promise<{ status: number; text: string }> };
  const wrap = async (p: ReturnType<APIRequestContext['post']>) => {
    const r = await p;
    return { status: r.status(), text: await r.text() };
  };
  const cases: Case[] = [];
  for (const id of ids) {
    cases.push({ name: `POST /pay payment_method_id ${JSON.stringify(id)}`, send: () => wrap(api.post('/pay', { data: { payment_method_id: id } })) });
    cases.push({ name: `server fn pay ${JSON.stringify(id)}`, send: () => wrap(api.post('/api/pay', { form: { payment_method_id: id } })) });
    cases.push({ name: `POST /pay payment_intent_id ${JSON.stringify(id)}`, send: () => wrap(api.post('/pay', { data: { payment_intent_id: id.replace('pm_', 'pi_') } })) });
    cases.push({ name: `server fn reconfirm ${JSON.stringify(id)}`, send: () => wrap(api.post('/api/reconfirm', { form: { payment_intent_id: id.replace('pm_', 'pi_') } })) });
  }
  const raw = (body: string, contentType: string) => () =>
    wrap(api.post('/pay', { data: body, headers: { 'Content-Type': contentType } }));
  cases.push(
    { name: 'foreign well-formed intent', send: () => wrap(api.post('/pay', { data: { payment_intent_id: 'pi_SomebodyElsesIntent1' } })) },
    { name: 'both ids', send: () => wrap(api.post('/pay', { data: { payment_method_id: 'pm_card_visa', payment_intent_id: 'pi_x' } })) },
    { name: 'neither id', send: () => wrap(api.post('/pay', { data: {} })) },
    { name: 'unknown field', send: () => wrap(api.post('/pay', { data: { payment_method_id: 'pm_card_visa', amount: 1 } })) },
    { name: 'number id', send: () => wrap(api.post('/pay', { data: { payment_method_id: 4242 } })) },
    { name: 'broken JSON', send: raw('{"payment_method_id": ', 'application/json') },
    { name: 'JSON array', send: raw('[]', 'application/json') },
    { name: 'JSON null', send: raw('null', 'application/json') },
    { name: 'text/plain', send: raw('{"payment_method_id":"pm_card_visa"}', 'text/plain') },
    { name: 'form body to /pay', send: raw('payment_method_id=pm_card_visa', 'application/x-www-form-urlencoded') },
    { name: 'oversize body', send: raw(JSON.stringify({ payment_method_id: 'pm_' + 'a'.repeat(40_000) }), 'application/json') },
    { name: 'server fn without argument', send: () => wrap(api.post('/api/pay', { form: {} })) },
    { name: 'tampered cookie', send: () => wrap(api.post('/pay', { data: { payment_method_id: 'pm_card_visa' }, headers: { Cookie: 'checkout_order=ord_x.AAAA' } })) },
    { name: 'cross-site origin', send: () => wrap(api.post('/pay', { data: { payment_method_id: 'pm_card_visa' }, headers: { Origin: 'https://evil.example' } })) },
    { name: 'cross-site server fn', send: () => wrap(api.post('/api/pay', { form: { payment_method_id: 'pm_card_visa' }, headers: { Origin: 'https://evil.example' } })) },
  );
  for (const [product, quantity] of [['espresso-beans', '-1'], ['espresso-beans', '21'], ['espresso-beans', '99999999999999999999'], ['espresso-beans', 'abc'], ['espresso-beans', '1.5'], ['espresso-beans', ''], ['decaf', '1'], ['', '1'], ['espresso-beans\u0000', '1']]) {
    cases.push({ name: `set_quantity ${product}=${quantity}`, send: () => wrap(api.post('/api/set_quantity', { form: { product_id: product, quantity } })) });
  }
  expect(cases.length).toBeGreaterThanOrEqual(50);
  for (const c of cases) {
    const { status, text } = await c.send();
    expect(status, `${c.name}: ${text}`).toBeGreaterThanOrEqual(400);
    expect(status, `${c.name}: ${text}`).toBeLessThan(500);
    expect(text.length, c.name).toBeGreaterThan(2);
    expect(text, c.name).not.toMatch(/sqlx|panick|stripe answered|sk_test|backtrace/i);
  }
  expect(orderRecord(reference)).toEqual(before.order);
  expect((await emulatorState()).payment_intents.length).toBe(before.intents);
  await api.dispose();
});

test('the page, its assets and server-function answers never carry the secret key', async ({ page }) => {
  const secret = process.env.CHECKOUT_SECRET_KEY ?? 'sk_test_localEmulatorOnly';
  const bodies: string[] = [];
  const cspViolations: string[] = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  const reading: Promise<void>[] = [];
  page.on('response', (r) => {
    if (r.url().startsWith(baseURL)) reading.push(r.body().then((b) => { bodies.push(b.toString('latin1')); }, () => undefined));
  });
  await openCheckout(page);
  await typeCard(page, '4000000000003220');
  await page.getByTestId('pay-button').click();
  await answerChallenge(page, 'Complete authentication');
  await expect(page.getByTestId('payment-success')).toBeVisible();
  await Promise.all(reading);
  // The assets' names carry their hash: read them from the page.
  const assets = [...new Set((await (await page.request.get('/')).text()).match(/\/pkg\/checkout\.[A-Za-z0-9_-]+\.(js|wasm|css)/g))];
  expect(assets.map((a) => a.split('.').pop()).sort()).toEqual(['css', 'js', 'wasm']);
  const names = ['/', ...assets, '/favicon.svg'];
  for (const name of names) {
    const r = await page.request.get(name);
    expect(r.status(), name).toBe(200);
    bodies.push((await r.body()).toString('latin1'));
  }
  expect(bodies.length).toBeGreaterThan(names.length);
  for (const body of bodies) expect(body.includes(secret)).toBe(false);
  expect(cspViolations).toEqual([]);
  const headers = (await page.request.get('/')).headers();
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
});

test('a seeded fuzz run of 300 random POST /pay bodies gets 4xx answers and changes nothing', async () => {
  const { api, reference } = await session();
  const before = { order: orderRecord(reference), intents: (await emulatorState()).payment_intents.length };
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const pieces = ['pm_', 'pi_', 'a', 'Z', '9', '_', '-', ' ', 'é', '\u0000', '\n', '"', '\\', '{', '}', '😀', '\u202e', 'card_visa'];
  const word = () => Array.from({ length: Math.floor(next() * 30) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
  const values = [() => word(), () => Math.floor(next() * 1e9), () => null, () => [word()], () => ({ id: word() }), () => next() < 0.5];
  const value = () => values[Math.floor(next() * values.length)]();
  for (let i = 0; i < 300; i++) {
    const body: Record<string, unknown> = {};
    for (const key of ['payment_method_id', 'payment_intent_id', word()]) if (next() < 0.6) body[key] = value();
    // Never a well-formed id of a test card: those would legitimately pay.
    if (typeof body.payment_method_id === 'string' && /^pm_[A-Za-z0-9_]+$/.test(body.payment_method_id)) body.payment_method_id += ' ';
    const raw = next() < 0.2 ? JSON.stringify(body).slice(0, Math.floor(next() * 40)) : JSON.stringify(body);
    const r = await api.post('/pay', { data: raw, headers: { 'Content-Type': 'application/json' } });
    expect(r.status(), raw).toBeGreaterThanOrEqual(400);
    expect(r.status(), raw).toBeLessThan(500);
    expect(typeof (await r.json()).error, raw).toBe('string');
  }
  expect(orderRecord(reference)).toEqual(before.order);
  expect((await emulatorState()).payment_intents.length).toBe(before.intents);
  await api.dispose();
});

test('replaying the cookie of a paid order cannot pay it again', async () => {
  const { api, reference } = await session();
  expect(await (await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } })).json()).toEqual({ success: true });
  const again = await api.post('/pay', { data: { payment_method_id: 'pm_card_mastercard' } });
  expect(again.status()).toBe(409);
  expect((await again.json()).error).toContain('already been paid');
  await expectPaidOnce(reference);
  await api.dispose();
});
