// Save the card for next time (a Customer and setup_future_usage=off_session), pay with it
// in one click, remove it, and let the merchant charge it again without the shopper. A
// shop of its own (automatic capture, back office on) with its own emulator.
import { test, expect, Browser } from '@playwright/test';
import { answerChallenge } from '../checkout-helpers';
import { Shop, merchantAction, merchantLogin, orderRow, payOnPage, startShop, stripeGet } from '../back-office';
import { killServer, sql } from '../server-process';

let shop: Shop;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  shop = await startShop(3151, 12151);
});
test.afterAll(async () => killServer(shop));

async function freshBrowser(browser: Browser) {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

test('a saved 4242 pays the next order in one click, on the same Customer', async ({ browser }) => {
  const { context, page } = await freshBrowser(browser);
  const first = await payOnPage(page, shop, '4242424242424242', { save: 'ada@example.com' });
  const firstIntent = await stripeGet(shop, `/v1/payment_intents/${orderRow(shop, first).payment_intent_id}`);
  expect(firstIntent.setup_future_usage).toBe('off_session');
  const customer = await stripeGet(shop, `/v1/customers/${firstIntent.customer}`);
  expect(customer.email).toBe('ada@example.com');

  await page.goto(`${shop.url}/`);
  const saved = page.getByTestId('saved-card');
  await expect(saved).toHaveCount(1);
  await expect(saved).toContainText('Visa •••• 4242, expires 12/34');
  await expect(saved.getByRole('radio')).toBeChecked();
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-success')).toBeVisible();
  await expect(page.getByTestId('paid-card')).toHaveText('Visa ending in 4242');
  const second = (await page.getByTestId('order-reference').textContent())!.trim();
  expect(second).not.toBe(first);
  const secondIntent = await stripeGet(shop, `/v1/payment_intents/${orderRow(shop, second).payment_intent_id}`);
  expect([secondIntent.status, secondIntent.customer, secondIntent.payment_method]).toEqual(['succeeded', firstIntent.customer, firstIntent.payment_method]);
  expect(secondIntent.setup_future_usage, 'already saved: not saved again').toBeNull();
  await context.close();
});

test('a second browser never sees or uses the first browser\'s cards, even with the same e-mail', async ({ browser }) => {
  const a = await freshBrowser(browser);
  await payOnPage(a.page, shop, '5555555555554444', { save: 'grace@example.com' });
  const card = sql(shop.databaseUrl, "SELECT payment_method_id FROM saved_cards WHERE last4 = '4444'")[0].payment_method_id;

  const b = await freshBrowser(browser);
  await b.page.goto(`${shop.url}/`);
  await expect(b.page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await expect(b.page.getByTestId('saved-card')).toHaveCount(0);
  const stolen = await b.page.request.post(`${shop.url}/api/pay_with_saved_card`, { form: { payment_method_id: card } });
  expect(stolen.status()).toBe(400);
  expect(await stolen.text()).toContain('SavedCardUnknown');
  const removal = await b.page.request.post(`${shop.url}/api/remove_saved_card`, { form: { payment_method_id: card } });
  expect(removal.status()).toBe(400);
  // Saving with the same e-mail makes B a Customer of its own.
  await payOnPage(b.page, shop, '4242424242424242', { save: 'grace@example.com' });
  await b.page.goto(`${shop.url}/`);
  await expect(b.page.getByTestId('saved-card')).toHaveCount(1);
  await expect(b.page.getByTestId('saved-card')).toContainText('4242');
  expect(sql(shop.databaseUrl, "SELECT COUNT(DISTINCT stripe_customer_id) AS n FROM shoppers WHERE email = 'grace@example.com'")[0].n).toBe(2);
  await Promise.all([a.context.close(), b.context.close()]);
});

test('a saved card is removed: detached at Stripe and gone from the page', async ({ browser }) => {
  const { context, page } = await freshBrowser(browser);
  await payOnPage(page, shop, '4242424242424242', { save: 'alan@example.com' });
  await page.goto(`${shop.url}/`);
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  const id = sql(shop.databaseUrl, `SELECT payment_method_id FROM saved_cards ORDER BY created_at DESC LIMIT 1`)[0].payment_method_id;
  expect((await stripeGet(shop, `/v1/payment_methods/${id}`)).customer).not.toBeNull();
  await page.getByTestId('remove-saved-card').click();
  await expect(page.getByTestId('saved-card')).toHaveCount(0);
  await expect(page.getByTestId('save-card'), 'the new-card form is back').toBeVisible();
  expect((await stripeGet(shop, `/v1/payment_methods/${id}`)).customer, 'detached').toBeNull();
  await page.reload();
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await expect(page.getByTestId('saved-card')).toHaveCount(0);
  await context.close();
});

test('saving needs a real e-mail address, and a declined card is not saved', async ({ browser }) => {
  const { context, page } = await freshBrowser(browser);
  await page.goto(`${shop.url}/`);
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  const { typeCard } = await import('../checkout-helpers');
  await typeCard(page, '4000000000009995');
  await page.getByTestId('save-card').check();
  await page.getByTestId('save-email').fill('not-an-address');
  // The browser's own check is bypassed, so the server's answer is what shows.
  await page.locator('form.payment-form').evaluate((f) => f.setAttribute('novalidate', ''));
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toHaveText('Enter the e-mail address to save your card with, such as name@example.com.');
  await page.getByTestId('save-email').fill('joan@example.com');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toContainText('insufficient funds');
  await page.reload();
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await expect(page.getByTestId('saved-card'), 'a declined card is not saved').toHaveCount(0);
  await context.close();
});

test('a saved 3155 is charged again off session by the merchant', async ({ browser, page }) => {
  const shopper = await freshBrowser(browser);
  const reference = await payOnPage(shopper.page, shop, '4000002500003155', { save: 'mary@example.com', threeDS: true });
  await shopper.context.close();
  await merchantLogin(page, shop);
  const result = await merchantAction(page, shop, reference, 'charge_again');
  expect(result).toMatch(/^€14\.50 charged to Visa •••• 3155, expires 12\/34 without the shopper: repeat order [A-Z0-9]{4}-[A-Z0-9]{4}\.$/);
  const repeat = /repeat order ([A-Z0-9-]+)\./.exec(result)![1];
  const row = orderRow(shop, repeat);
  expect(row).toMatchObject({ status: 'paid', amount_captured: 1450, repeat_of: orderRow(shop, reference).id });
  const pi = await stripeGet(shop, `/v1/payment_intents/${row.payment_intent_id}`);
  expect([pi.status, pi.amount, pi.customer]).toEqual(['succeeded', 1450, orderRow(shop, reference).customer_id]);
});

test('a saved 3184 charged off session is declined authentication_required, and the order says the customer must come back', async ({ browser, page }) => {
  const shopper = await freshBrowser(browser);
  const reference = await payOnPage(shopper.page, shop, '4000002760003184', { save: 'kate@example.com', threeDS: true });
  await shopper.context.close();
  await merchantLogin(page, shop);
  const result = await merchantAction(page, shop, reference, 'charge_again');
  expect(result).toContain('authentication_required: the customer must come back to authenticate this payment');
  const repeat = /Repeat order ([A-Z0-9-]+)/.exec(result)![1];
  const row = orderRow(shop, repeat);
  expect(row.status).toBe('failed');
  await page.goto(`${shop.url}/merchant/orders/${row.id}`);
  await expect(page.getByTestId('order-status')).toHaveText('failed');
  await expect(page.getByTestId('last-error')).toHaveText('authentication_required: the customer must come back to authenticate this payment');
  const pi = await stripeGet(shop, `/v1/payment_intents/${row.payment_intent_id}`);
  expect([pi.status, pi.last_payment_error?.decline_code ?? pi.last_payment_error?.code]).toEqual(['requires_payment_method', 'authentication_required']);
});

test('a saved 3-D Secure card still asks the cardholder on session, and the page runs the challenge', async ({ browser }) => {
  const { context, page } = await freshBrowser(browser);
  await payOnPage(page, shop, '4000000000003220', { save: 'lin@example.com', threeDS: true });
  await page.goto(`${shop.url}/`);
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await expect(page.getByTestId('saved-card')).toContainText('3220');
  await page.getByTestId('pay-button').click();
  await answerChallenge(page, 'Complete authentication');
  await expect(page.getByTestId('payment-success')).toBeVisible();
  await context.close();
});
