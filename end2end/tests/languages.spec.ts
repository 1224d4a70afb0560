// French and English: the language comes from the switch (a cookie), else Accept-Language,
// else the shop's default; the page, the island, the amounts, Stripe.js's card fields and the
// server's messages all follow it.
import { test, expect, Page } from '@playwright/test';
import { answerChallenge, baseURL, intentsFor, openCheckout, orderRecord, typeCard } from '../checkout-helpers';

// Whitespace as French writes it: a narrow no-break space groups thousands, a no-break space
// comes before the symbol.
const NBSP = '\u00a0';

async function cardFrame(page: Page) {
  return page.frameLocator('iframe[name^="__privateStripeFrame"]').first();
}

// The same journeys for a French browser, and for an English one whose shopper picks French.
for (const via of ['Accept-Language', 'the switch'] as const) {
test.describe(`in French by ${via}`, () => {
  test.use({ locale: via === 'Accept-Language' ? 'fr-FR' : 'en-US' });

  /// Opens the checkout in French; the order's reference.
  async function openInFrench(page: Page): Promise<string> {
    const reference = await openCheckout(page);
    if (via === 'the switch') {
      await expect(page.locator('html')).toHaveAttribute('lang', 'en');
      await page.getByTestId('language-fr').click();
      await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
    }
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    return reference;
  }

  test('pays 4242 in French, with French amounts and card fields', async ({ page }) => {
    const reference = await openInFrench(page);
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await expect(page).toHaveTitle('Paiement');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Paiement');
    await expect(page.getByTestId('test-mode-banner')).toHaveText('Mode test — émulateur Stripe local. Aucune carte réelle n’est débitée.');
    await expect(page.locator('#summary-title')).toContainText('Votre commande');
    await expect(page.getByTestId('order-line')).toContainText('Café en grains espresso, 250 g');
    await expect(page.getByTestId('order-total')).toHaveText(`14,50${NBSP}€`);
    await expect(page.getByTestId('pay-button')).toHaveText(`Payer 14,50${NBSP}€`);
    // Stripe.js was given the locale: its fields and its messages are French.
    const frame = await cardFrame(page);
    await expect(frame.locator('input[name="cardnumber"]')).toHaveAttribute('placeholder', 'Numéro de carte');
    await typeCard(page, '4242424242424241');
    await expect(page.getByTestId('payment-error')).toHaveText('Le numéro de votre carte est invalide.');

    // Hydration kept the language: the cart answers in French, amounts included.
    await page.getByRole('button', { name: /Ajouter Filtres en papier, boîte de 100/ }).click();
    await expect(page.getByTestId('order-total')).toHaveText(`19,00${NBSP}€`);
    await expect(page.getByTestId('pay-button')).toHaveText(`Payer 19,00${NBSP}€`);

    await typeCard(page, '4242424242424242');
    await page.getByTestId('pay-button').click();
    const receipt = page.getByTestId('payment-success');
    await expect(receipt.getByRole('heading')).toHaveText('Paiement réussi');
    await expect(receipt).toContainText(`19,00${NBSP}€ débités sur Visa se terminant par 4242.`);
    await expect(receipt.getByTestId('paid-amount')).toHaveText(`19,00${NBSP}€`);
    expect(orderRecord(reference)).toMatchObject({ status: 'paid', fulfilments: 1 });
    expect((await intentsFor(reference)).map((pi) => pi.amount)).toEqual([1900]);
  });

  test('pays through 3-D Secure in French', async ({ page }) => {
    const reference = await openInFrench(page);
    await typeCard(page, '4000002500003155');
    await page.getByTestId('pay-button').click();
    await answerChallenge(page, 'Complete authentication');
    await expect(page.getByTestId('payment-success').getByRole('heading')).toHaveText('Paiement réussi');
    await expect(page.getByTestId('paid-card')).toHaveText('Visa se terminant par 3155');
    expect(orderRecord(reference)).toMatchObject({ status: 'paid', fulfilments: 1 });
  });

  test('explains 9995 (insufficient funds) in French', async ({ page }) => {
    const reference = await openInFrench(page);
    await typeCard(page, '4000000000009995');
    await page.getByTestId('pay-button').click();
    await expect(page.getByTestId('payment-error')).toHaveText('Le solde de votre carte est insuffisant. Veuillez utiliser une autre carte.');
    await expect(page.getByTestId('pay-button')).toBeEnabled();
    expect(orderRecord(reference)).toMatchObject({ status: 'failed', fulfilments: 0 });
  });

  test('a failed authentication is explained in French', async ({ page }) => {
    await openInFrench(page);
    await typeCard(page, '4000002500003155');
    await page.getByTestId('pay-button').click();
    await answerChallenge(page, 'Fail authentication');
    await expect(page.getByTestId('payment-error')).toHaveText('Nous n’avons pas pu authentifier votre carte. Veuillez réessayer ou utiliser une autre carte.');
  });
});
}

test.describe('an English browser', () => {
  test('pays 4242, 3-D Secure and is told about 9995 in English', async ({ page }) => {
    await openCheckout(page);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.getByTestId('order-total')).toHaveText('€14.50');
    await expect(page.getByTestId('pay-button')).toHaveText('Pay €14.50');
    await expect((await cardFrame(page)).locator('input[name="cardnumber"]')).toHaveAttribute('placeholder', 'Card number');
    await typeCard(page, '4000000000009995');
    await page.getByTestId('pay-button').click();
    await expect(page.getByTestId('payment-error')).toHaveText('Your card has insufficient funds. Please use another card.');
    await typeCard(page, '4000002500003155');
    await page.getByTestId('pay-button').click();
    await answerChallenge(page, 'Complete authentication');
    await expect(page.getByTestId('payment-success')).toContainText('€14.50 charged to Visa ending in 3155.');
  });

  test('the switch turns the page French, is remembered, and turns it back', async ({ page }) => {
    const reference = await openCheckout(page);
    await page.getByTestId('language-fr').click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await expect(page.getByTestId('pay-button')).toHaveText(`Payer 14,50${NBSP}€`);
    await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
    // The same order, still in French after a reload: the choice is a cookie.
    await page.reload();
    await expect(page.locator('#summary-title .reference')).toHaveText(reference);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Paiement');
    await expect(page.getByTestId('language-fr')).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
    await typeCard(page, '4242424242424242');
    await page.getByTestId('pay-button').click();
    await expect(page.getByTestId('payment-success').getByRole('heading')).toHaveText('Paiement réussi');

    await page.getByTestId('language-en').click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Checkout');
  });
});

test('the switch only sends back to this site, and only from its own pages', async ({ request }) => {
  const away = await request.post('/language', { form: { lang: 'fr', return_to: '//evil.example/' }, maxRedirects: 0 });
  expect(away.status()).toBe(303);
  expect(away.headers()['location']).toBe('/');
  expect(away.headers()['set-cookie']).toContain('checkout_lang=fr');
  const unknown = await request.post('/language', { form: { lang: 'de', return_to: '/' }, maxRedirects: 0 });
  expect(unknown.status()).toBe(400);
  const crossSite = await request.post('/language', { form: { lang: 'fr', return_to: '/' }, headers: { Origin: 'https://evil.example' }, maxRedirects: 0 });
  expect(crossSite.status()).toBe(403);
});

test("POST /pay answers its errors in the caller's language", async ({ playwright }) => {
  for (const [language, expected] of [
    ['fr-FR,fr;q=0.9', 'La demande n’a pas été comprise. Veuillez recharger la page et réessayer.'],
    ['en-GB', 'The request was not understood. Please reload the page and try again.'],
  ]) {
    const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { 'Accept-Language': language } });
    await api.get('/');
    const r = await api.post('/pay', { data: { payment_method_id: 'pm_card_visa', payment_intent_id: 'pi_x' } });
    expect(r.status()).toBe(400);
    expect((await r.json()).error).toBe(expected);
    await api.dispose();
  }
});
