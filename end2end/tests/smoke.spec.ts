import { test, expect } from '@playwright/test';

test('the server-rendered page carries the title before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('<title>Checkout</title>');
  expect(html).toContain('data-testid="order-summary"');
});

test('the title and summary show with JavaScript disabled', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page).toHaveTitle('Checkout');
  await expect(page.getByTestId('order-summary')).toBeVisible();
  await context.close();
});

test('after hydration a click reaches the server function and shows its answer', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  const serverCall = page.waitForRequest((req) => req.url().includes('/api/ping') && req.method() === 'POST');
  await page.goto('/');
  await page.getByTestId('ping-button').click();
  await serverCall;
  await expect(page.getByTestId('ping-reply')).toHaveText(/^Hello shopper, from /);
  expect(errors).toEqual([]);
});
