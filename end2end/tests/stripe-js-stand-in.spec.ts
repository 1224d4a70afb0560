import { test, expect, Page, FrameLocator } from '@playwright/test';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { emulatorURL } from '../emulator';

// A minimal merchant page served from its own loopback origin, as a shop embeds Stripe.js.
// (A real server, not page.route: Chromium lets only loopback pages call loopback addresses.)
let shop: Server;
let SHOP = '';
const SECRET = 'sk_test_standInSpec0001';
const PUBLISHABLE = 'pk_test_standInSpec0001';

const PAGE = `<!doctype html>
<html><head><title>Stand-in</title><script src="${emulatorURL}/v3/"></script></head>
<body>
  <div id="card"></div>
  <div id="errors" role="alert"></div>
  <script>
    const stripe = Stripe('${PUBLISHABLE}');
    const card = stripe.elements().create('card');
    window.changes = [];
    card.on('change', (event) => {
      window.changes.push(event);
      document.getElementById('errors').textContent = event.error ? event.error.message : '';
    });
    card.mount('#card');
    window.stripe = stripe;
    window.card = card;
  </script>
</body></html>`;

test.beforeAll(async () => {
  shop = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  SHOP = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/stand-in.html`;
});

test.afterAll(async () => {
  await new Promise((resolve) => shop.close(resolve));
});

async function openShop(page: Page): Promise<FrameLocator> {
  await page.goto(SHOP);
  return page.frameLocator('iframe[name^="__privateStripeFrame"]');
}

async function typeCard(frame: FrameLocator, number: string) {
  await frame.locator('input[name="cardnumber"]').fill(number);
  await frame.locator('input[name="exp-date"]').fill('12 / 34');
  await frame.locator('input[name="cvc"]').fill('123');
  await frame.locator('input[name="postal"]').fill('10001');
}

async function createPaymentMethod(page: Page) {
  return page.evaluate(() => (window as any).stripe.createPaymentMethod({ type: 'card', card: (window as any).card }));
}

async function createIntent(paymentMethod: string): Promise<{ id: string; client_secret: string; status: string }> {
  const response = await fetch(`${emulatorURL}/v1/payment_intents`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ amount: '1999', currency: 'eur', payment_method: paymentMethod, confirm: 'true', confirmation_method: 'manual' }),
  });
  return response.json();
}

test('the card fields live in a Stripe-named iframe and report a validation error', async ({ page }) => {
  const frame = await openShop(page);
  await expect(frame.getByText('TEST MODE')).toBeVisible();
  await frame.locator('input[name="cardnumber"]').fill('4242 4242 4242 4241');
  await expect(page.locator('#errors')).toHaveText('Your card number is invalid.');
  await frame.locator('input[name="exp-date"]').fill('01 / 20');
  await frame.locator('input[name="cardnumber"]').fill('4242424242424242');
  await expect(page.locator('#errors')).toHaveText("Your card's expiration year is in the past.");
  const last = await page.evaluate(() => (window as any).changes.at(-1));
  expect(last.elementType).toBe('card');
  expect(last.brand).toBe('visa');
  expect(last.complete).toBe(false);
  expect(last.error.type).toBe('validation_error');
});

test('createPaymentMethod returns a PaymentMethod for a complete card and an error for an incomplete one', async ({ page }) => {
  const frame = await openShop(page);
  await frame.locator('input[name="cardnumber"]').fill('4242424242424242');
  const incomplete = await createPaymentMethod(page);
  expect(incomplete.error.code).toBe('incomplete_expiry');
  await typeCard(frame, '4242424242424242');
  await expect.poll(() => page.evaluate(() => (window as any).changes.at(-1).complete)).toBe(true);
  const result = await createPaymentMethod(page);
  expect(result.error).toBeUndefined();
  expect(result.paymentMethod.id).toMatch(/^pm_/);
  expect(result.paymentMethod.card.last4).toBe('4242');
  expect(JSON.stringify(result)).not.toContain('4242424242424242');
});

for (const [answer, expected] of [
  ['Complete authentication', 'requires_confirmation'],
  ['Fail authentication', 'payment_intent_authentication_failure'],
] as const) {
  test(`handleCardAction opens the challenge and resolves after "${answer}"`, async ({ page }) => {
    const frame = await openShop(page);
    await typeCard(frame, '4000002500003155');
    const created = await createPaymentMethod(page);
    const intent = await createIntent(created.paymentMethod.id);
    expect(intent.status).toBe('requires_action');

    const outcome = page.evaluate((secret) => (window as any).stripe.handleCardAction(secret), intent.client_secret);
    const challenge = page.frameLocator('iframe[name$="_challenge"]');
    await challenge.getByRole('button', { name: answer }).click();
    const result = await outcome;
    if (expected === 'requires_confirmation') {
      expect(result.error).toBeUndefined();
      expect(result.paymentIntent.status).toBe('requires_confirmation');
    } else {
      expect(result.error.code).toBe(expected);
      expect(result.error.payment_intent.status).toBe('requires_payment_method');
    }
    await expect(page.locator('[data-stripe-emulator="challenge"]')).toHaveCount(0);
  });
}

test('confirmCardPayment confirms an automatic intent from the browser, 3-D Secure included', async ({ page }) => {
  const frame = await openShop(page);
  await typeCard(frame, '4000000000003220');
  await expect.poll(() => page.evaluate(() => (window as any).changes.at(-1).complete)).toBe(true);
  const response = await fetch(`${emulatorURL}/v1/payment_intents`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ amount: '2500', currency: 'eur' }),
  });
  const intent = await response.json();
  expect(intent.confirmation_method).toBe('automatic');
  const outcome = page.evaluate(
    (secret) => (window as any).stripe.confirmCardPayment(secret, { payment_method: { card: (window as any).card } }),
    intent.client_secret,
  );
  await page.frameLocator('iframe[name$="_challenge"]').getByRole('button', { name: 'Complete authentication' }).click();
  const result = await outcome;
  expect(result.error).toBeUndefined();
  expect(result.paymentIntent.status).toBe('succeeded');
});
