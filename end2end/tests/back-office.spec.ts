// Authorise now, capture later, and the merchant back office: a shop with manual capture
// (end2end/fixtures/manual-capture.toml), its own database and embedded emulator. Every
// amount is checked in the emulator and in the database.
import { test, expect, request as playwrightRequest } from '@playwright/test';
import { advanceClock } from '../checkout-helpers';
import { MERCHANT_TOKEN, Shop, merchantAction, merchantLogin, orderRow, payOnPage, startShop, stripeGet } from '../back-office';
import { killServer, sql } from '../server-process';

let shop: Shop;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  shop = await startShop(3141, 12141, { CHECKOUT_CONFIG: 'end2end/fixtures/manual-capture.toml', CHECKOUT_AUTHORISATION_CHECK_SECONDS: '1' });
});
test.afterAll(async () => killServer(shop));

/// The intent and its charge, as Stripe has them.
async function intentOf(reference: string) {
  const pi = await stripeGet(shop, `/v1/payment_intents/${orderRow(shop, reference).payment_intent_id}?expand[]=latest_charge`);
  return { pi, charge: pi.latest_charge };
}

test('with manual capture the card is authorised, and a partial capture makes the order paid with what was captured', async ({ page }) => {
  const reference = await payOnPage(page, shop, '4242424242424242');
  await expect(page.getByRole('heading', { name: 'Payment authorised' })).toBeVisible();
  await expect(page.getByTestId('capture-later')).toHaveText('Your card has been authorised; you will be charged when your order ships.');
  expect(orderRow(shop, reference)).toMatchObject({ status: 'authorised', amount_captured: 0 });
  expect((await intentOf(reference)).pi).toMatchObject({ status: 'requires_capture', amount_capturable: 1450, capture_method: 'manual' });

  await merchantLogin(page, shop);
  await expect(page.locator('tr', { hasText: reference }).getByTestId('order-status')).toHaveText('authorised');
  expect(await merchantAction(page, shop, reference, 'capture', '10.00')).toBe('Captured €10.00 of €14.50.');
  await expect(page.getByTestId('order-status')).toHaveText('paid');
  await expect(page.getByTestId('captured')).toHaveText('€10.00');
  const { pi, charge } = await intentOf(reference);
  expect([pi.status, pi.amount_received, charge.amount_captured]).toEqual(['succeeded', 1000, 1000]);
  expect(orderRow(shop, reference)).toMatchObject({ status: 'paid', amount_captured: 1000, amount_refunded: 0 });
  expect(await merchantAction(page, shop, reference, 'refund', '10.01')).toContain('At most €10.00 can be refunded');
});

test('an action waits out a lease another holder has for a moment (the reconciler reading the order) instead of answering busy', async ({ page }) => {
  const reference = await payOnPage(page, shop, '4242424242424242');
  await merchantLogin(page, shop);
  const id = orderRow(shop, reference).id;
  await page.goto(`${shop.url}/merchant/orders/${id}`);
  await page.locator('form.action').filter({ has: page.getByTestId('capture-button') }).locator('input[name="amount"]').fill('10.00');
  await page.getByTestId('capture-button').click();
  await expect(page.getByTestId('confirm-question')).toBeVisible();
  // Another holder takes the order until the end of the next second, as a reconciler pass does.
  sql(shop.databaseUrl, `UPDATE orders SET lease_token = 'held-by-the-spec', lease_expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 1 WHERE id = '${id}'`);
  await page.getByTestId('confirm-button').click();
  expect((await page.getByTestId('action-result').textContent())!.trim()).toBe('Captured €10.00 of €14.50.');
  expect(orderRow(shop, reference)).toMatchObject({ status: 'paid', amount_captured: 1000, lease_token: null });
});

test('canceling an authorisation releases the card and ends the order', async ({ page }) => {
  const reference = await payOnPage(page, shop, '5555555555554444');
  await merchantLogin(page, shop);
  expect(await merchantAction(page, shop, reference, 'cancel')).toBe('Authorisation canceled: €14.50 released to the card.');
  await expect(page.getByTestId('order-status')).toHaveText('canceled');
  const { pi, charge } = await intentOf(reference);
  expect([pi.status, pi.amount_capturable, charge.amount_captured, charge.amount_refunded]).toEqual(['canceled', 0, 0, 1450]);
  expect(orderRow(shop, reference)).toMatchObject({ status: 'canceled', amount_captured: 0 });
  await expect(page.getByTestId('capture-button'), 'nothing left to capture').toHaveCount(0);
});

test('an authorisation left uncaptured for seven days is found released by the reconciler', async () => {
  const api = await playwrightRequest.newContext({ baseURL: shop.url });
  const page = await api.get('/');
  const reference = /class="reference">([A-Z0-9-]+)</.exec(await page.text())![1];
  expect(await (await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } })).json()).toEqual({ success: true });
  expect(orderRow(shop, reference).status).toBe('authorised');
  await advanceClock(7 * 24 * 3600 + 60, shop.emulator);
  await expect.poll(() => orderRow(shop, reference).status, { timeout: 15_000 }).toBe('authorisation_expired');
  const { pi } = await intentOf(reference);
  expect([pi.status, pi.cancellation_reason]).toEqual(['canceled', 'automatic']);
  await api.dispose();
});

test('two partial refunds, then a third beyond the remainder is refused; Stripe and the database agree', async ({ page }) => {
  const reference = await payOnPage(page, shop, '4242424242424242');
  await merchantLogin(page, shop);
  expect(await merchantAction(page, shop, reference, 'capture')).toBe('Captured €14.50 of €14.50.');
  expect(await merchantAction(page, shop, reference, 'refund', '5.00')).toBe('Refunded €5.00.');
  expect(await merchantAction(page, shop, reference, 'refund', '4,00')).toBe('Refunded €4.00.');
  expect(await merchantAction(page, shop, reference, 'refund', '6.00')).toBe('At most €5.50 can be refunded (€14.50 captured, €9.00 refunded).');
  await expect(page.getByTestId('refunded')).toHaveText('€9.00');
  const { charge } = await intentOf(reference);
  expect([charge.amount_captured, charge.amount_refunded]).toEqual([1450, 900]);
  expect(orderRow(shop, reference)).toMatchObject({ amount_captured: 1450, amount_refunded: 900, status: 'paid' });
  expect(await merchantAction(page, shop, reference, 'refund')).toBe('Refunded €5.50.');
  expect((await intentOf(reference)).charge.amount_refunded).toBe(1450);
  await expect(page.getByTestId('refund-button'), 'nothing left to refund').toHaveCount(0);
});

test('a double-submitted capture or refund is done once', async ({ page }) => {
  const reference = await payOnPage(page, shop, '4242424242424242');
  await merchantLogin(page, shop);
  const id = orderRow(shop, reference).id;
  // The confirmation form, sent twice at once with its one key (a double click, two tabs).
  const twice = async (action: string, amount: string) => {
    await page.goto(`${shop.url}/merchant/orders/${id}/confirm?action=${action}&amount=${amount}`);
    const key = await page.locator('input[name="key"]').inputValue();
    const minor = await page.locator('input[name="amount"]').inputValue();
    // The order as the confirmation showed it: an action on an order that changed since does nothing.
    const basis = await page.locator('input[name="basis"]').inputValue();
    const post = () => page.request.post(`${shop.url}/merchant/orders/${id}/actions`, { form: { action, key, amount: minor, basis }, maxRedirects: 0 });
    const answers = await Promise.all([post(), post()]);
    for (const a of answers) expect([303, 503], await a.text()).toContain(a.status());
    expect(answers.some((a) => a.status() === 303), 'one of them did it').toBe(true);
    // Sent again later, the same key only shows what was done.
    expect((await post()).status()).toBe(303);
  };
  await twice('capture', '12.00');
  const { pi } = await intentOf(reference);
  expect([pi.status, pi.amount_received]).toEqual(['succeeded', 1200]);
  await twice('refund', '3.00');
  const { charge } = await intentOf(reference);
  expect(charge.amount_refunded, 'one refund of €3.00').toBe(300);
  expect(orderRow(shop, reference)).toMatchObject({ amount_captured: 1200, amount_refunded: 300 });
});

test('without the token, with a wrong one, cross-site or after logout, the back office refuses and changes nothing', async ({ page }) => {
  const reference = await payOnPage(page, shop, '4242424242424242');
  const id = orderRow(shop, reference).id;
  const anonymous = await playwrightRequest.newContext({ baseURL: shop.url });
  const list = await anonymous.get('/merchant', { maxRedirects: 0 });
  expect([list.status(), list.headers()['location']]).toEqual([303, '/merchant/login']);
  const action = await anonymous.post(`/merchant/orders/${id}/actions`, { form: { action: 'capture', key: 'A'.repeat(32) }, maxRedirects: 0 });
  expect(action.status()).toBe(401);
  const wrong = await anonymous.post('/merchant/login', { form: { token: MERCHANT_TOKEN.slice(0, -1) + 'X' }, maxRedirects: 0 });
  expect(wrong.status()).toBe(401);
  expect(wrong.headers()['set-cookie'], 'no session for a wrong token').toBeUndefined();
  expect(await wrong.text()).toContain('That token is not the merchant token.');

  await merchantLogin(page, shop);
  await page.goto(`${shop.url}/merchant/orders/${id}/confirm?action=cancel`);
  const key = await page.locator('input[name="key"]').inputValue();
  for (const headers of [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }]) {
    const crossSite = await page.request.post(`${shop.url}/merchant/orders/${id}/actions`, { form: { action: 'cancel', key }, headers, maxRedirects: 0 });
    expect(crossSite.status(), JSON.stringify(headers)).toBe(403);
  }
  expect(orderRow(shop, reference).status, 'nothing changed').toBe('authorised');
  expect((await intentOf(reference)).pi.status).toBe('requires_capture');

  const cookies = await page.context().cookies(shop.url);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/merchant\/login$/);
  // The old session cookie, replayed after logout, opens nothing.
  const replay = await playwrightRequest.newContext({ baseURL: shop.url, storageState: { cookies, origins: [] } });
  expect((await replay.get('/merchant', { maxRedirects: 0 })).status()).toBe(303);
  await Promise.all([anonymous.dispose(), replay.dispose()]);
});

test('the back office is off without MERCHANT_TOKEN', async ({ request }) => {
  // The suite's main server runs without the variable.
  expect((await request.get('/merchant', { maxRedirects: 0 })).status()).toBe(404);
  expect((await request.post('/merchant/login', { form: { token: MERCHANT_TOKEN } })).status()).toBe(404);
});

test('a French browser gets the back office in French: pages, statuses, dates, amounts and outcomes', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'fr-FR' });
  const page = await context.newPage();
  const reference = await payOnPage(page, shop, '4242424242424242');
  await expect(page.getByRole('heading', { name: 'Paiement autorisé' })).toBeVisible();
  await expect(page.getByTestId('capture-later')).toHaveText('Votre carte a été autorisée ; vous serez débité à l’expédition de votre commande.');

  await page.goto(`${shop.url}/merchant`);
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await page.getByLabel('Jeton marchand').fill(MERCHANT_TOKEN);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await expect(page.getByRole('heading', { name: 'Commandes' })).toBeVisible();
  const row = page.locator('tr', { hasText: reference });
  await expect(row.getByTestId('order-status')).toHaveText('autorisée');
  await expect(row).toContainText('14,50\u00a0€');
  await expect(row.locator('td').nth(1)).toHaveText(/^\d{1,2} (janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.) \d{4}, \d\d:\d\d UTC$/);

  expect(await merchantAction(page, shop, reference, 'capture', '10,00')).toBe('10,00\u00a0€ capturés sur 14,50\u00a0€.');
  await expect(page.getByTestId('order-status')).toHaveText('payée');
  expect(orderRow(shop, reference)).toMatchObject({ status: 'paid', amount_captured: 1000 });
  expect(await merchantAction(page, shop, reference, 'refund', '10,01')).toBe('Au plus 10,00\u00a0€ peuvent être remboursés (10,00\u00a0€ capturés, 0,00\u00a0€ remboursés).');

  // The switch brings the same page back in English.
  await page.getByTestId('language-en').click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByTestId('order-status')).toHaveText('paid');
  await expect(page.getByTestId('captured')).toHaveText('€10.00');
  await context.close();
});
