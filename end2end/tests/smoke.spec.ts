import { test, expect } from '@playwright/test';

test('the server-rendered page carries the title and the order summary before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('<title>Checkout</title>');
  expect(html).toContain('data-testid="order-summary"');
  expect(html).toContain('data-testid="order-total"');
});

test('the title and summary show with JavaScript disabled', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page).toHaveTitle('Checkout');
  await expect(page.getByTestId('order-summary')).toBeVisible();
  await expect(page.getByTestId('order-total')).toHaveText('€14.50');
  await context.close();
});

test('after hydration a change reaches a server function and its answer is shown', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto('/');
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  const serverCall = page.waitForRequest((req) => req.url().includes('/api/set_quantity') && req.method() === 'POST');
  await page.getByRole('button', { name: /Add Filter beans/ }).click();
  await serverCall;
  await expect(page.getByTestId('order-total')).toHaveText('€26.50');
  expect(errors).toEqual([]);
});

test('an answer the page cannot read, and an error answer, are explained in the shopper\'s words', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
  await page.route('**/api/set_quantity', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"reference": 12' }));
  await page.getByRole('button', { name: /Add Filter beans/ }).click();
  await expect(page.locator('.cart-error')).toHaveText('The request was not understood. Please reload the page and try again.');
  await expect(page.getByTestId('order-total')).toHaveText('€14.50');
  await page.unroute('**/api/set_quantity');
  await page.route('**/api/set_quantity', (route) => route.fulfill({ status: 409, contentType: 'application/json', body: '"CartFrozen"' }));
  await page.getByRole('button', { name: /Add Filter beans/ }).click();
  await expect(page.locator('.cart-error')).toContainText('can\'t be changed while its payment is under way');
});
