// The back office's dashboard: payments made on the page, read back from its tables and the
// chart's data table, in both languages, with no axe violations.
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { typeCard } from '../checkout-helpers';
import { MERCHANT_TOKEN, payOnPage, startShop, Shop } from '../back-office';
import { killServer } from '../server-process';

test.describe.configure({ mode: 'serial' });

let shop: Shop;

test.beforeAll(async () => {
  shop = await startShop(3141, 12141);
});

test.afterAll(async () => {
  await killServer(shop);
});

async function violations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function logIn(page: Page) {
  await page.goto(`${shop.url}/merchant/login`);
  await page.locator('#token').fill(MERCHANT_TOKEN);
  await page.locator('form.merchant-login button[type="submit"]').click();
  await expect(page).toHaveURL(/\/merchant$/);
}

test('payments made on the page are on the dashboard, by outcome, reason and hour', async ({ page }) => {
  await payOnPage(page, shop, '4242424242424242');
  await payOnPage(page, shop, '4242424242424242');
  await page.goto(`${shop.url}/`);
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await typeCard(page, '4000000000009995');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toContainText('insufficient funds');

  await logIn(page);
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  const paid = page.locator('tr[data-outcome="succeeded"]');
  await expect(paid.getByTestId('today-count')).toHaveText('2');
  await expect(paid.getByTestId('today-amount')).toHaveText('€29.00');
  await expect(paid.getByTestId('week-count')).toHaveText('2');
  const declined = page.locator('tr[data-outcome="declined"]');
  await expect(declined.getByTestId('today-count')).toHaveText('1');
  await expect(declined.getByTestId('today-amount')).toHaveText('€14.50');
  await expect(page.locator('tr[data-reason="insufficient_funds"] td')).toHaveText('1');
  // The chart's figures: this hour holds the three attempts.
  const hours = page.getByTestId('per-hour').locator('tbody tr');
  await expect(hours).toHaveCount(24);
  const now = hours.last();
  await expect(now.getByTestId('hour-paid')).toHaveText('2');
  await expect(now.getByTestId('hour-declined')).toHaveText('1');
  // One hour's bar, paid and declined stacked; the label's scale counts every attempt.
  await expect(page.locator('svg[role="img"] rect.bar')).toHaveCount(2);
  await expect(page.locator('svg[role="img"]')).toHaveAttribute('aria-label', /attempts per hour .* up to 3 in an hour/);
  await expect(page.getByTestId('decline-alarm')).toHaveCount(0);
  expect(await violations(page)).toEqual([]);
});

test.describe('in French', () => {
  test.use({ locale: 'fr-FR' });

  test('the dashboard reads in French, amounts as French writes them, with no axe violations', async ({ page }) => {
    await logIn(page);
    await page.goto(`${shop.url}/merchant/dashboard`);
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await expect(page.getByRole('heading', { level: 1, name: 'Tableau de bord' })).toBeVisible();
    await expect(page.locator('tr[data-outcome="succeeded"] th')).toHaveText('Payée');
    await expect(page.locator('tr[data-outcome="succeeded"]').getByTestId('today-amount')).toHaveText(/^29,00\s€$/);
    expect(await violations(page)).toEqual([]);
  });
});
