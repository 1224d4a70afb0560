// WCAG 2.x A/AA checks with axe on every state a shopper or a merchant sees, and a payment
// made with the keyboard alone.
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { answerChallenge, clearFaults, injectFault, openCheckout, typeCard } from '../checkout-helpers';
import { MERCHANT_TOKEN, orderRow, payOnPage, startShop, Shop } from '../back-office';
import { killServer } from '../server-process';

async function violations(page: Page, state: string) {
  // The card fields are Stripe's (an iframe of another origin): Stripe answers for them.
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).exclude('iframe').analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(found, `axe violations ${state}`).toEqual([]);
}

test.afterEach(async () => clearFaults());

for (const locale of ['en-US', 'fr-FR']) {
  test.describe(`in ${locale}`, () => {
    test.use({ locale });

    test('the checkout page has no axe violations: ready, paying, declined, paid', async ({ page }) => {
      await openCheckout(page);
      await expect(page.locator('html')).toHaveAttribute('lang', locale.slice(0, 2));
      await violations(page, 'on the ready page');
      await typeCard(page, '4000000000009995');
      await page.getByTestId('pay-button').click();
      await expect(page.getByTestId('payment-error')).not.toBeEmpty();
      await violations(page, 'after a decline');
      await injectFault({ method: 'POST', path: '/v1/payment_intents/*/confirm', kind: 'delay', delay_ms: 1500, count: 1 });
      await typeCard(page, '4242424242424242');
      await page.getByTestId('pay-button').click();
      await expect(page.getByTestId('spinner')).toBeVisible();
      await violations(page, 'while paying');
      await expect(page.getByTestId('payment-success')).toBeVisible();
      await violations(page, 'on the receipt');
    });
  });
}

for (const [card, threeDS] of [['4242424242424242', false], ['4000000000003220', true]] as const) {
test(`a keyboard alone pays with ${card}${threeDS ? ', through 3-D Secure,' : ''} and focus lands on the outcome`, async ({ page }) => {
  await openCheckout(page);
  // From the top of the page, Tab reaches the card fields inside Stripe's frame.
  await page.keyboard.press('Tab');
  let guard = 0;
  while (!(await page.evaluate(() => document.activeElement?.tagName === 'IFRAME')) && guard++ < 30) await page.keyboard.press('Tab');
  expect(guard).toBeLessThan(30);
  await page.keyboard.type(card);
  await page.keyboard.press('Tab');
  await page.keyboard.type('1234');
  await page.keyboard.press('Tab');
  await page.keyboard.type('123');
  // Out of the frame to the pay button.
  guard = 0;
  while (!(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset?.testid === 'pay-button')) && guard++ < 10) await page.keyboard.press('Tab');
  await expect(page.getByTestId('pay-button')).toBeFocused();
  await page.keyboard.press('Enter');
  if (threeDS) {
    // The challenge takes the focus; its buttons answer to the keyboard.
    const challenge = page.frameLocator('iframe[name$="_challenge"]');
    await expect(challenge.getByRole('button', { name: 'Complete authentication' })).toBeVisible();
    guard = 0;
    while (!(await challenge.getByRole('button', { name: 'Complete authentication' }).evaluate((b) => b === document.activeElement)) && guard++ < 10) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
  }
  await expect(page.getByTestId('payment-success')).toBeVisible();
  await expect(page.getByTestId('payment-success')).toBeFocused();
});
}

test('a decline moves the focus to its message', async ({ page }) => {
  await openCheckout(page);
  await typeCard(page, '4000000000000002');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toContainText('declined');
  await expect(page.getByTestId('payment-error')).toBeFocused();
});

test.describe('the back office', () => {
  let shop: Shop;
  test.beforeAll(async () => {
    shop = await startShop(3171, 12171, { CHECKOUT_CONFIG: 'end2end/fixtures/manual-capture.toml' });
  });
  test.afterAll(async () => killServer(shop));

  for (const locale of ['en-US', 'fr-FR']) {
  test(`has no axe violations on any page (${locale})`, async ({ browser }) => {
    const context = await browser.newContext({ locale });
    const shopper = await context.newPage();
    const reference = await payOnPage(shopper, shop, '4242424242424242', { save: 'ada@example.com' });
    await shopper.goto(`${shop.url}/`);
    await expect(shopper.getByTestId('saved-card')).toBeVisible();
    await expect(shopper.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
    await violations(shopper, 'with a saved card');
    await shopper.close();
    const page = await context.newPage();
    await page.goto(`${shop.url}/merchant/login`);
    await expect(page.locator('html')).toHaveAttribute('lang', locale.slice(0, 2));
    await violations(page, 'on the login page');
    await page.locator('#token').fill(MERCHANT_TOKEN);
    await page.locator('form.merchant-login button[type="submit"]').click();
    await expect(page.locator('table.orders')).toBeVisible();
    await violations(page, 'on the order list');
    const id = orderRow(shop, reference).id;
    await page.goto(`${shop.url}/merchant/orders/${id}`);
    await violations(page, 'on an order');
    await page.goto(`${shop.url}/merchant/orders/${id}/confirm?action=capture&amount=5`);
    await violations(page, 'on a confirmation');
    await page.getByTestId('confirm-button').click();
    await expect(page.getByTestId('action-result')).toBeVisible();
    await violations(page, 'after an action');
    await context.close();
  });
  }
});
