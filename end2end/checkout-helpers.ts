// Shared steps of the checkout journeys: typing a card into the Stripe.js iframe, and
// looking at what the embedded emulator and the order database hold.
import { expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';

// The emulator the app embeds (STRIPE_EMULATOR_ADDR, default 127.0.0.1:12111).
export const appEmulator = process.env.CHECKOUT_EMULATOR_URL ?? 'http://127.0.0.1:12111';

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

function databasePath(): string {
  const url = process.env.DATABASE_URL ?? 'sqlite://checkout.db';
  return url.replace(/^sqlite:(\/\/)?/, '').replace(/\?.*$/, '');
}

/// The order row and its fulfilment count, read with the sqlite3 command-line tool.
export function orderRecord(reference: string): { status: string; payment_intent_id: string | null; fulfilments: number } {
  const sql = `SELECT status, payment_intent_id, (SELECT COUNT(*) FROM fulfilments f WHERE f.order_id = o.id) AS fulfilments
               FROM orders o WHERE reference = '${reference.replace(/[^A-Z0-9-]/g, '')}'`;
  const out = execFileSync('sqlite3', ['-json', databasePath(), sql], { encoding: 'utf8' });
  const rows = out.trim() ? JSON.parse(out) : [];
  expect(rows, `order ${reference} in the database`).toHaveLength(1);
  return rows[0];
}

export async function injectFault(rule: object) {
  const response = await fetch(`${appEmulator}/_emulator/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(rule),
  });
  expect(response.status).toBe(201);
}

export async function clearFaults() {
  await fetch(`${appEmulator}/_emulator/faults`, { method: 'DELETE' });
}
