// An order is paid only by a PaymentIntent of its exact amount: across cart edits, server
// processes, restarts and days. Each case is checked in the emulator and the database.
import { test, expect } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import {
  advanceClock, answerChallenge, apiSession, appEmulator, authenticate, clearFaults, emulatorState, injectFault, intentsFor,
  mainDatabase, orderCount, orderRecord, succeededChargesFor, typeCard,
} from '../checkout-helpers';
import { freshDatabase, killServer, projectRoot, serverBinary, serverEnv, sql, startServer } from '../server-process';

test.afterEach(async () => clearFaults());

const ADMIN = { Authorization: `Bearer ${'sk_test_localEmulatorOnly'}`, 'Content-Type': 'application/x-www-form-urlencoded' };

/// The order's one intent, and the database row agreeing with it.
async function onlyIntent(reference: string) {
  const intents = await intentsFor(reference);
  expect(intents, 'one PaymentIntent per order').toHaveLength(1);
  return intents[0];
}

test('a failed card id and a cart edit during 3-D Secure cannot make the order paid at the old amount', async () => {
  const { api, reference } = await apiSession({ stored: true });
  const first = await (await api.post('/pay', { data: { payment_method_id: 'pm_card_threeDSecure2Required' } })).json();
  const intentId = await authenticate(first.payment_intent_client_secret);

  const bad = await api.post('/pay', { data: { payment_method_id: 'pm_doesnotexist000000' } });
  expect(bad.status()).toBe(400);
  expect(orderRecord(reference).status, 'a bad card id is not a decline').toBe('requires_action');

  const edit = await api.post('/api/set_quantity', { form: { product_id: 'espresso-beans', quantity: '20' } });
  expect(edit.status()).toBe(409);
  expect(await edit.text(), 'the cart is frozen during 3-D Secure').toContain('CartFrozen');

  const done = await api.post('/pay', { data: { payment_intent_id: intentId } });
  expect(await done.json()).toEqual({ success: true });
  const intent = await onlyIntent(reference);
  expect([intent.status, intent.amount]).toEqual(['succeeded', 1450]);
  expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: intent.id, fulfilments: 1 });
  const [{ amount }] = sql(mainDatabase, `SELECT SUM(quantity * unit_amount) AS amount FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.reference = '${reference}'`);
  expect(Number(amount), 'the database and the emulator agree on the amount').toBe(intent.amount);
  await api.dispose();
});

test('after a real decline the cart may change, and the same intent is charged the new amount', async () => {
  const { api, reference } = await apiSession({ stored: true });
  const declined = await api.post('/pay', { data: { payment_method_id: 'pm_card_visa_chargeDeclinedInsufficientFunds' } });
  expect(declined.status()).toBe(402);
  expect(orderRecord(reference).status).toBe('failed');
  expect((await api.post('/api/set_quantity', { form: { product_id: 'espresso-beans', quantity: '2' } })).status()).toBe(200);
  expect(await (await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } })).json()).toEqual({ success: true });
  const intent = await onlyIntent(reference);
  expect([intent.status, intent.amount]).toEqual(['succeeded', 2900]);
  expect(orderRecord(reference)).toMatchObject({ status: 'paid', fulfilments: 1 });
  await api.dispose();
});

test('an intent whose amount was changed behind the app is never fulfilled: review, and a refund', async () => {
  const { api, reference } = await apiSession({ stored: true });
  const first = await (await api.post('/pay', { data: { payment_method_id: 'pm_card_threeDSecure2Required' } })).json();
  const intentId = first.payment_intent_client_secret.split('_secret_')[0];
  const tampered = await fetch(`${appEmulator}/v1/payment_intents/${intentId}`, { method: 'POST', headers: ADMIN, body: 'amount=100' });
  expect(tampered.status).toBe(200);
  // The changed intent asks for authentication again; the cardholder gives it.
  const again = await (await api.post('/pay', { data: { payment_intent_id: intentId } })).json();
  expect(again.requires_action).toBe(true);
  await authenticate(again.payment_intent_client_secret);
  const refundsBefore = (await (await fetch(`${appEmulator}/_emulator/state`)).json()).refunds;

  const answer = await api.post('/pay', { data: { payment_intent_id: intentId } });
  expect(answer.status()).toBe(409);
  expect((await answer.json()).error).toContain('refunded');
  const intent = await onlyIntent(reference);
  expect([intent.status, intent.amount]).toEqual(['succeeded', 100]);
  expect(orderRecord(reference)).toEqual({ status: 'needs_review', payment_intent_id: intentId, fulfilments: 0 });
  const state = await (await fetch(`${appEmulator}/_emulator/state`)).json();
  expect(state.refunds, 'the mismatched payment is refunded').toBe(refundsBefore + 1);
  // Asking again changes nothing and refunds nothing more.
  expect((await api.post('/pay', { data: { payment_intent_id: intentId } })).status()).toBe(409);
  expect((await (await fetch(`${appEmulator}/_emulator/state`)).json()).refunds).toBe(refundsBefore + 1);
  await api.dispose();
});

test('two server processes on one database: 20 concurrent pays of one order make one intent and one charge', async () => {
  const other = await startServer(3111, process.env.DATABASE_URL!, { url: appEmulator });
  try {
    const { api, reference } = await apiSession({ stored: true });
    const cookie = (await api.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const urls = ['http://127.0.0.1:3000', other.url];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${urls[i % 2]}/pay`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: cookie },
      body: JSON.stringify({ payment_method_id: 'pm_card_visa' }),
    })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409), JSON.stringify(statuses)).toBe(true);
    expect(statuses.filter((s) => s === 200), 'one pay succeeds; the others find it in progress or paid').toHaveLength(1);
    const intent = await onlyIntent(reference);
    expect(intent.status).toBe('succeeded');
    expect(await succeededChargesFor(reference)).toHaveLength(1);
    expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: intent.id, fulfilments: 1 });
    await api.dispose();
  } finally {
    await killServer(other);
  }
});

test('a create lost on every try, then 25 hours: paying again finds the intent instead of making a second', async () => {
  const { api, reference } = await apiSession({ stored: true });
  await injectFault({ method: 'POST', path: '/v1/payment_intents', kind: 'perform_then_drop', count: 3 });
  const lost = await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' }, timeout: 60_000 });
  expect(lost.status()).toBe(503);
  expect((await lost.json()).error).toContain('you will not be charged twice');
  expect((await intentsFor(reference)).map((pi) => pi.status)).toEqual(['succeeded']);
  expect(orderRecord(reference)).toMatchObject({ status: 'open', payment_intent_id: null, fulfilments: 0 });

  await advanceClock(25 * 3600);
  const again = await api.post('/pay', { data: { payment_method_id: 'pm_card_mastercard' } });
  expect(await again.json()).toEqual({ success: true });
  const intent = await onlyIntent(reference);
  expect(intent.status).toBe('succeeded');
  expect(await succeededChargesFor(reference)).toHaveLength(1);
  expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: intent.id, fulfilments: 1 });
  await api.dispose();
});

test('a processing payment ends in a paid order through the reconciler, without the shopper', async () => {
  const { api, reference } = await apiSession({ stored: true });
  const answer = await api.post('/pay', { data: { payment_method_id: 'pm_card_emulatorProcessing' } });
  expect(await answer.json(), 'not paid yet: told apart from success').toEqual({ processing: true });
  expect(orderRecord(reference)).toMatchObject({ status: 'processing', fulfilments: 0 });
  await api.dispose();

  await advanceClock(61);
  await expect.poll(() => orderRecord(reference).status, { timeout: 15_000 }).toBe('paid');
  const intent = await onlyIntent(reference);
  expect(intent.status).toBe('succeeded');
  expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: intent.id, fulfilments: 1 });
});

test('restarting the default server (embedded emulator) during 3-D Secure: the payment completes, one intent', async ({ page }) => {
  const database = freshDatabase();
  const emulator = '127.0.0.1:12131';
  let server = await startServer(3112, database, { embedded: emulator });
  try {
    await page.goto(server.url);
    await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
    const reference = (await page.locator('#summary-title .reference').textContent())!.trim();
    await typeCard(page, '4000000000003220');
    await page.getByTestId('pay-button').click();
    await expect(page.frameLocator('iframe[name$="_challenge"]').getByRole('button', { name: 'Complete authentication' })).toBeVisible();

    await killServer(server);
    server = await startServer(3112, database, { embedded: emulator });

    await answerChallenge(page, 'Complete authentication');
    await expect(page.getByTestId('payment-success')).toBeVisible();
    const state = await (await fetch(`http://${emulator}/_emulator/state`)).json();
    const intents = state.payment_intents.filter((pi: any) => pi.metadata.order_reference === reference);
    expect(intents.map((pi: any) => pi.status)).toEqual(['succeeded']);
    expect(orderRecord(reference, database)).toMatchObject({ status: 'paid', fulfilments: 1 });
  } finally {
    await killServer(server);
  }
});

test('a server for an https shop without Stripe keys refuses to start on the emulator', async () => {
  const env = serverEnv(3113, freshDatabase(), { embedded: '127.0.0.1:12132' }, { CHECKOUT_PUBLIC_URL: 'https://shop.example', CHECKOUT_USE_EMULATOR: 'true' });
  const run = spawnSync(serverBinary, [], { cwd: projectRoot, env, encoding: 'utf8', timeout: 20_000 });
  expect(run.status).not.toBe(0);
  expect(run.status).not.toBeNull();
  expect(run.stderr).toContain('STRIPE_SECRET_KEY');
});

test('a cross-site no-cors POST to the emulator controls changes nothing', async ({ page }) => {
  const { api } = await apiSession({ stored: true });
  expect(await (await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } })).json()).toEqual({ success: true });
  await api.dispose();
  const before = (await emulatorState()).payment_intents.length;
  // A page of another site, as a browser would send it: no preflight for text/plain.
  await page.setContent('<p>elsewhere</p>');
  await page.evaluate(async (url) => {
    await fetch(`${url}/_emulator/reset`, { method: 'POST', mode: 'no-cors', body: '{}' }).catch(() => undefined);
    await fetch(`${url}/_emulator/clock/advance`, { method: 'POST', mode: 'no-cors', body: '{"seconds": 99999}' }).catch(() => undefined);
  }, appEmulator);
  expect((await emulatorState()).payment_intents.length).toBe(before);
  expect(before).toBeGreaterThan(0);
});

test('1,000 cookie-less visits of the page store no order', async () => {
  const before = orderCount();
  for (let batch = 0; batch < 20; batch++) {
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch('http://127.0.0.1:3000/')));
    for (const a of answers) {
      expect(a.status).toBe(200);
      await a.arrayBuffer();
    }
  }
  expect(orderCount()).toBe(before);
});

test('a create key Stripe already holds with other parameters finds the intent it made, not a second one', async () => {
  // What a power loss that took back the database's last writes leaves: Stripe made the
  // order's intent under attempt 1's key, and the order does not remember sending it.
  const { api, reference } = await apiSession({ stored: true });
  const [{ id: orderId }] = sql(mainDatabase, `SELECT id FROM orders WHERE reference = '${reference}'`);
  const earlier = await fetch(`${appEmulator}/v1/payment_intents`, {
    method: 'POST',
    headers: { ...ADMIN, 'Idempotency-Key': `checkout-${orderId}-attempt-1-create` },
    body: new URLSearchParams({
      amount: '1450', currency: 'eur', payment_method: 'pm_card_visa', confirm: 'true', confirmation_method: 'manual',
      'metadata[order_id]': orderId, 'metadata[order_reference]': reference,
    }),
  });
  expect(earlier.status).toBe(200);
  const made = await earlier.json();

  const paid = await api.post('/pay', { data: { payment_method_id: 'pm_card_mastercard' } });
  expect(await paid.json()).toEqual({ success: true });
  const intent = await onlyIntent(reference);
  expect([intent.id, intent.status]).toEqual([made.id, 'succeeded']);
  expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: made.id, fulfilments: 1 });
  await api.dispose();
});
