// Shared steps of the checkout journeys: typing a card into the Stripe.js iframe, and
// looking at what the embedded emulator and the order database hold.
import { expect, Page, APIRequestContext, request as playwrightRequest } from '@playwright/test';
import { sql } from './server-process';

// The emulator the app embeds (STRIPE_EMULATOR_ADDR, default 127.0.0.1:12111).
export const appEmulator = process.env.CHECKOUT_EMULATOR_URL ?? 'http://127.0.0.1:12111';

export const baseURL = process.env.CHECKOUT_BASE_URL ?? 'http://127.0.0.1:3000';

/// A shopper speaking HTTP: the page's cookie and reference; `stored` also changes the cart
/// once, which stores the order (a glance at the page stores nothing).
export async function apiSession({ stored, url = baseURL }: { stored: boolean; url?: string }): Promise<{ api: APIRequestContext; reference: string }> {
  const api = await playwrightRequest.newContext({ baseURL: url });
  const page = await api.get('/');
  expect(page.status()).toBe(200);
  const reference = /class="reference">([A-Z0-9-]+)</.exec(await page.text())![1];
  if (stored) {
    const r = await api.post('/api/set_quantity', { form: { product_id: 'espresso-beans', quantity: '1' } });
    expect(r.status(), await r.text()).toBe(200);
  }
  return { api, reference };
}

/// What Stripe.js does when the cardholder completes the challenge.
export async function authenticate(clientSecret: string, emulator = appEmulator) {
  const intentId = clientSecret.split('_secret_')[0];
  const r = await fetch(`${emulator}/3ds/authenticate/${intentId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_secret: clientSecret, outcome: 'complete' }),
  });
  expect(r.status).toBe(200);
  return intentId;
}

export async function advanceClock(seconds: number, emulator = appEmulator) {
  const r = await fetch(`${emulator}/_emulator/clock/advance`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ seconds }) });
  expect(r.status).toBe(200);
}

export async function typeCard(page: Page, number: string, expiry = '12 / 34', cvc = '123') {
  const frame = page.frameLocator('iframe[name^="__privateStripeFrame"]').first();
  await frame.locator('input[name="cardnumber"]').fill(number);
  await frame.locator('input[name="exp-date"]').fill(expiry);
  await frame.locator('input[name="cvc"]').fill(cvc);
}

/// Opens the checkout and waits until the Card Element is mounted (the pay button enables).
export async function openCheckout(page: Page): Promise<string> {
  await page.goto('/');
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  return (await page.locator('#summary-title .reference').textContent())!.trim();
}

export async function answerChallenge(page: Page, answer: 'Complete authentication' | 'Fail authentication') {
  await page.frameLocator('iframe[name$="_challenge"]').getByRole('button', { name: answer }).click();
}

type Intent = { id: string; status: string; amount: number; metadata: Record<string, string> };
type Charge = { id: string; payment_intent: string; status: string };

export async function emulatorState(): Promise<{ payment_intents: Intent[]; charges: Charge[] }> {
  const response = await fetch(`${appEmulator}/_emulator/state`);
  return response.json();
}

/// The PaymentIntents the emulator holds for one order, by its reference.
export async function intentsFor(reference: string): Promise<Intent[]> {
  const state = await emulatorState();
  return state.payment_intents.filter((pi) => pi.metadata.order_reference === reference);
}

export async function succeededChargesFor(reference: string): Promise<Charge[]> {
  const state = await emulatorState();
  const ids = new Set((await intentsFor(reference)).map((pi) => pi.id));
  return state.charges.filter((c) => ids.has(c.payment_intent) && c.status === 'succeeded');
}

/// The main server's order database (the one `cargo leptos end-to-end` runs it with).
export const mainDatabase = process.env.DATABASE_URL ?? 'sqlite://checkout.db';

function query(statement: string): any[] {
  return sql(mainDatabase, statement);
}

/// Whether the order is in the database at all (a glance at the page stores nothing).
export function orderStored(reference: string): boolean {
  return query(`SELECT 1 FROM orders WHERE reference = '${reference.replace(/[^A-Z0-9-]/g, '')}'`).length === 1;
}

export function orderCount(): number {
  return query('SELECT COUNT(*) AS n FROM orders')[0].n;
}

/// The order row and its fulfilment count, in `database` (the main server's by default).
export function orderRecord(reference: string, database = mainDatabase): { status: string; payment_intent_id: string | null; fulfilments: number } {
  const rows = sql(database, `SELECT status, payment_intent_id, (SELECT COUNT(*) FROM fulfilments f WHERE f.order_id = o.id) AS fulfilments
               FROM orders o WHERE reference = '${reference.replace(/[^A-Z0-9-]/g, '')}'`);
  expect(rows, `order ${reference} in the database`).toHaveLength(1);
  return rows[0];
}

export async function injectFault(rule: object, emulator = appEmulator) {
  const response = await fetch(`${emulator}/_emulator/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(rule),
  });
  expect(response.status).toBe(201);
}

export async function clearFaults(emulator = appEmulator) {
  await fetch(`${emulator}/_emulator/faults`, { method: 'DELETE' });
}
