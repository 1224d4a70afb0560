import { test, expect } from '@playwright/test';
import {
  answerChallenge, clearFaults, injectFault, intentsFor, openCheckout, orderRecord, orderStored, succeededChargesFor, typeCard,
} from '../checkout-helpers';

test.afterEach(async () => clearFaults());

test('4242 pays the order once and shows the receipt', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4242424242424242');
  await page.getByTestId('pay-button').click();
  const receipt = page.getByTestId('payment-success');
  await expect(receipt).toBeVisible();
  await expect(receipt.getByTestId('order-reference')).toHaveText(reference);
  await expect(receipt.getByTestId('paid-amount')).toHaveText('€14.50');
  await expect(receipt.getByTestId('paid-card')).toHaveText('Visa ending in 4242');
  // The receipt takes the place of the cart and the form: nothing is left to change or pay.
  await expect(page.getByTestId('order-summary')).toBeHidden();
  await expect(page.getByTestId('pay-button')).toBeHidden();

  const intents = await intentsFor(reference);
  expect(intents).toHaveLength(1);
  expect(intents[0].status).toBe('succeeded');
  expect(intents[0].amount).toBe(1450);
  expect(await succeededChargesFor(reference)).toHaveLength(1);
  expect(orderRecord(reference)).toEqual({ status: 'paid', payment_intent_id: intents[0].id, fulfilments: 1 });
});

test('a payment the bank has not decided yet is shown as being processed, not as paid', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4000009999000014');
  await page.getByTestId('pay-button').click();
  const receipt = page.getByTestId('payment-success');
  await expect(receipt.getByRole('heading')).toHaveText('Payment processing');
  await expect(receipt).toContainText('Your payment of €14.50 with Visa ending in 0014 is being processed: your order is confirmed as soon as your bank answers.');
  await expect(receipt).not.toContainText('charged');
  expect(orderRecord(reference).status).toBe('processing');
});

test('4000002500003155 with completed authentication pays the order', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4000002500003155');
  await page.getByTestId('pay-button').click();
  await answerChallenge(page, 'Complete authentication');
  await expect(page.getByTestId('payment-success')).toBeVisible();
  const intents = await intentsFor(reference);
  expect(intents.map((pi) => pi.status)).toEqual(['succeeded']);
  expect(orderRecord(reference).status).toBe('paid');
  expect(orderRecord(reference).fulfilments).toBe(1);
});

test('failed authentication shows an error, keeps the form usable, and 4242 then pays the same order once', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4000002500003155');
  await page.getByTestId('pay-button').click();
  await answerChallenge(page, 'Fail authentication');
  await expect(page.getByTestId('payment-error')).toContainText('could not authenticate your card');
  await expect(page.getByTestId('pay-button')).toBeEnabled();
  await expect(page.getByTestId('spinner')).toHaveCount(0);
  expect(orderRecord(reference).status).not.toBe('paid');

  await typeCard(page, '4242424242424242');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-success')).toBeVisible();
  const intents = await intentsFor(reference);
  expect(intents, 'one PaymentIntent per order').toHaveLength(1);
  expect(intents[0].status).toBe('succeeded');
  expect(await succeededChargesFor(reference)).toHaveLength(1);
  expect(orderRecord(reference)).toMatchObject({ status: 'paid', fulfilments: 1 });
});

test('4000000000009995 explains the insufficient funds', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4000000000009995');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toHaveText('Your card has insufficient funds. Please use another card.');
  await expect(page.getByTestId('pay-button')).toBeEnabled();
  expect((await intentsFor(reference)).map((pi) => pi.status)).toEqual(['requires_payment_method']);
  expect(orderRecord(reference)).toMatchObject({ status: 'failed', fulfilments: 0 });
});

test('4000000000000002 says the card was declined', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4000000000000002');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toContainText('Your card was declined.');
  expect(orderRecord(reference)).toMatchObject({ status: 'failed', fulfilments: 0 });
});

test('a card Stripe.js refuses is explained without calling the server: as it is typed, and on pay', async ({ page }) => {
  const serverCalls: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/pay') || r.url().endsWith('/pay')) serverCalls.push(r.url());
  });
  const reference = await openCheckout(page);
  await typeCard(page, '4242424242424241');
  await expect(page.getByTestId('payment-error')).toHaveText('Your card number is invalid.');
  // An incomplete number is only an error once the shopper pays: the click must show it.
  await typeCard(page, '42424242');
  await expect(page.getByTestId('payment-error')).toHaveText('');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toHaveText('Your card number is incomplete.');
  await expect(page.getByTestId('pay-button')).toBeEnabled();
  expect(serverCalls).toEqual([]);
  expect(await intentsFor(reference)).toHaveLength(0);
  expect(orderStored(reference), 'a glance stores nothing').toBe(false);
});

test('while the payment is in flight the form is disabled, busy and shows a spinner', async ({ page }) => {
  const reference = await openCheckout(page);
  await injectFault({ method: 'POST', path: '/v1/payment_intents', kind: 'delay', delay_ms: 2000 });
  await typeCard(page, '4242424242424242');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('spinner')).toBeVisible();
  await expect(page.getByTestId('pay-button')).toBeDisabled();
  await expect(page.locator('form.payment-form')).toHaveAttribute('aria-busy', 'true');
  // Playwright's toBeDisabled ignores fieldsets, so check the attribute, and the card fields themselves.
  await expect(page.locator('form.payment-form fieldset')).toHaveAttribute('disabled', '');
  await expect(page.frameLocator('iframe[name^="__privateStripeFrame"]').first().locator('input[name="cardnumber"]')).toBeDisabled();
  await expect(page.getByTestId('payment-success')).toBeVisible({ timeout: 15_000 });
  expect(orderRecord(reference).status).toBe('paid');
});

test('a reload keeps the same order', async ({ page }) => {
  const reference = await openCheckout(page);
  await page.reload();
  await expect(page.locator('#summary-title .reference')).toHaveText(reference);
});

test('a network failure is shown as an error and the form comes back', async ({ page }) => {
  const reference = await openCheckout(page);
  await page.route('**/api/pay', (route) => route.abort('connectionreset'));
  await typeCard(page, '4242424242424242');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-error')).toContainText('could not reach the shop');
  await expect(page.getByTestId('pay-button')).toBeEnabled();
  expect(await intentsFor(reference)).toHaveLength(0);
});

test('the amount charged is the server\'s total for the chosen quantities', async ({ page }) => {
  const reference = await openCheckout(page);
  await page.getByLabel('Quantity of Espresso beans, 250 g').fill('2');
  await page.getByLabel('Quantity of Espresso beans, 250 g').press('Tab');
  await expect(page.getByTestId('order-total')).toHaveText('€29.00');
  await page.getByRole('button', { name: /Add Paper filters/ }).click();
  await expect(page.getByTestId('order-total')).toHaveText('€33.50');
  await expect(page.getByTestId('pay-button')).toHaveText('Pay €33.50');
  await typeCard(page, '5555555555554444');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('paid-amount')).toHaveText('€33.50');
  const intents = await intentsFor(reference);
  expect(intents.map((pi) => pi.amount)).toEqual([3350]);
});

test('after paying, the next visit starts a new order', async ({ page }) => {
  const reference = await openCheckout(page);
  await typeCard(page, '4242424242424242');
  await page.getByTestId('pay-button').click();
  await expect(page.getByTestId('payment-success')).toBeVisible();
  const next = await openCheckout(page);
  expect(next).not.toBe(reference);
});
