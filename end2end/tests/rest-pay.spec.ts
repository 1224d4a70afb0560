import { test, expect, request as playwrightRequest } from '@playwright/test';
import { apiSession, appEmulator, intentsFor, orderRecord } from '../checkout-helpers';

// The guide's own client script talks to POST /pay with these JSON shapes; its first POST
// stores the order the page showed.
const session = () => apiSession({ stored: false });

test('POST /pay with a payment_method_id that needs nothing more answers success', async () => {
  const { api, reference } = await session();
  const response = await api.post('/pay', { data: { payment_method_id: 'pm_card_visa' } });
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ success: true });
  expect(orderRecord(reference)).toMatchObject({ status: 'paid', fulfilments: 1 });
  await api.dispose();
});

test('POST /pay answers requires_action, then payment_intent_id after authentication answers success', async () => {
  const { api, reference } = await session();
  const first = await api.post('/pay', { data: { payment_method_id: 'pm_card_threeDSecure2Required' } });
  const body = await first.json();
  expect(body.requires_action).toBe(true);
  const secret: string = body.payment_intent_client_secret;
  const intentId = secret.split('_secret_')[0];
  expect(orderRecord(reference)).toMatchObject({ status: 'requires_action', payment_intent_id: intentId });

  // What stripe.handleCardAction does in the browser when the cardholder completes 3-D Secure.
  const auth = await fetch(`${appEmulator}/3ds/authenticate/${intentId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_secret: secret, outcome: 'complete' }),
  });
  expect(auth.status).toBe(200);

  const second = await api.post('/pay', { data: { payment_intent_id: intentId } });
  expect(await second.json()).toEqual({ success: true });
  expect((await intentsFor(reference)).map((pi) => pi.status)).toEqual(['succeeded']);
  expect(orderRecord(reference)).toMatchObject({ status: 'paid', fulfilments: 1 });
  await api.dispose();
});

test('POST /pay refuses a request without the session cookie, and a foreign PaymentIntent', async () => {
  const anonymous = await playwrightRequest.newContext({ baseURL: process.env.CHECKOUT_BASE_URL ?? 'http://127.0.0.1:3000' });
  const noCookie = await anonymous.post('/pay', { data: { payment_method_id: 'pm_card_visa' } });
  expect(noCookie.status()).toBe(401);
  expect((await noCookie.json()).error).toContain('session has expired');
  await anonymous.dispose();

  const { api } = await session();
  const foreign = await api.post('/pay', { data: { payment_intent_id: 'pi_SomebodyElses123' } });
  expect(foreign.status()).toBe(403);
  expect((await foreign.json()).error).toContain('does not belong to your order');
  const declined = await api.post('/pay', { data: { payment_method_id: 'pm_card_visa_chargeDeclinedInsufficientFunds' } });
  expect(declined.status()).toBe(402);
  expect((await declined.json()).error).toContain('insufficient funds');
  await api.dispose();
});
