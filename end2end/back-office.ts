// Steps shared by the back-office and saved-card journeys: a spawned server with the back
// office on, paying on its page, and acting as the merchant.
import { expect, Page } from '@playwright/test';
import { answerChallenge, typeCard } from './checkout-helpers';
import { freshDatabase, Server, sql, startServer } from './server-process';

export const MERCHANT_TOKEN = 'merchant-token-for-the-end-to-end-specs';
/// The embedded emulator's secret key (src/server/config/mod.rs EMULATOR_SECRET_KEY).
const EMULATOR_SECRET = 'sk_test_localEmulatorOnly';

export type Shop = Server & { emulator: string };

/// A checkout server with its own database and embedded emulator, and the back office on.
export async function startShop(port: number, emulatorPort: number, extra: Record<string, string> = {}): Promise<Shop> {
  const server = await startServer(port, freshDatabase(), { embedded: `127.0.0.1:${emulatorPort}` }, {
    MERCHANT_TOKEN,
    CHECKOUT_RECONCILE_SECONDS: '1',
    ...extra,
  });
  return { ...server, emulator: `http://127.0.0.1:${emulatorPort}` };
}

/// An object from the shop's emulator, read through Stripe's API with the secret key.
export async function stripeGet(shop: Shop, path: string): Promise<any> {
  const response = await fetch(`${shop.emulator}${path}`, { headers: { Authorization: `Bearer ${EMULATOR_SECRET}` } });
  expect(response.status, `GET ${path}`).toBe(200);
  return response.json();
}

export function orderRow(shop: Shop, reference: string): any {
  const rows = sql(shop.databaseUrl, `SELECT * FROM orders WHERE reference = '${reference.replace(/[^A-Z0-9-]/g, '')}'`);
  expect(rows, `order ${reference}`).toHaveLength(1);
  return rows[0];
}

/// Pays the page's order with `card`; `save` ticks "save this card" with that e-mail; a
/// 3-D Secure card's challenge is completed. The order's reference.
export async function payOnPage(page: Page, shop: Shop, card: string, options: { save?: string; threeDS?: boolean } = {}): Promise<string> {
  await page.goto(`${shop.url}/`);
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  const reference = (await page.locator('#summary-title .reference').textContent())!.trim();
  if (await page.getByTestId('use-new-card').count()) await page.getByTestId('use-new-card').check();
  await typeCard(page, card);
  if (options.save) {
    await page.getByTestId('save-card').check();
    await page.getByTestId('save-email').fill(options.save);
  }
  await page.getByTestId('pay-button').click();
  if (options.threeDS) await answerChallenge(page, 'Complete authentication');
  await expect(page.getByTestId('payment-success')).toBeVisible();
  return reference;
}

export async function merchantLogin(page: Page, shop: Shop) {
  await page.goto(`${shop.url}/merchant`);
  await expect(page).toHaveURL(/\/merchant\/login$/);
  await page.getByLabel('Merchant token').fill(MERCHANT_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Orders' })).toBeVisible();
}

/// Runs a back-office action on the order through its confirmation page; the outcome shown.
export async function merchantAction(page: Page, shop: Shop, reference: string, action: string, amount?: string): Promise<string> {
  const id = orderRow(shop, reference).id;
  await page.goto(`${shop.url}/merchant/orders/${id}`);
  const form = page.locator('form.action').filter({ has: page.getByTestId(`${action}-button`) });
  if (amount !== undefined) await form.locator('input[name="amount"]').fill(amount);
  await page.getByTestId(`${action}-button`).click();
  await expect(page.getByTestId('confirm-question')).toBeVisible();
  await page.getByTestId('confirm-button').click();
  return (await page.getByTestId('action-result').textContent())!.trim();
}
