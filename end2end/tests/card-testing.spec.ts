// The card-testing defence as a shopper and a script meet it, with the limits a shop gets by
// default, on servers of this spec's own (the other specs all run from 127.0.0.1, without the
// address limits). The servers trust X-Forwarded-For, as behind a load balancer: the spec
// tells its shoppers apart by the address the "proxy" writes. On PostgreSQL (scripts/test.sh's
// second pass) two servers share the database, and the limits hold across them.
import { test, expect, Page } from '@playwright/test';
import { emulatorURL } from '../emulator';
import { typeCard } from '../checkout-helpers';
import { freshDatabase, killServer, shopper, startServer, Server } from '../server-process';

const DEFAULT_LIMITS = {
  CHECKOUT_LIMIT_ORDER_DECLINES: '5',
  CHECKOUT_LIMIT_ORDER_COOLING_SECONDS: '1800',
  CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE: '10',
  CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR: '10',
  CHECKOUT_TRUSTED_PROXY_HEADER: 'X-Forwarded-For',
};

test.describe.configure({ mode: 'serial' });

let servers: Server[] = [];

test.beforeEach(async () => {
  const database = freshDatabase();
  servers = [await startServer(3131, database, { url: emulatorURL }, DEFAULT_LIMITS)];
  if (process.env.E2E_POSTGRES) servers.push(await startServer(3132, database, { url: emulatorURL }, DEFAULT_LIMITS));
});

test.afterEach(async () => {
  await Promise.all(servers.map(killServer));
});

/// Opens `server`'s checkout as a browser behind the proxy at `address`.
async function open(page: Page, server: Server, address: string) {
  await page.setExtraHTTPHeaders({ 'X-Forwarded-For': address });
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
}

/// Types `card`, pays, and returns the server function's answer.
async function payOnPage(page: Page, card: string) {
  await typeCard(page, card);
  const answer = page.waitForResponse((r) => r.url().includes('/api/pay') && r.request().method() === 'POST');
  await page.getByTestId('pay-button').click();
  return answer;
}

for (const [locale, message] of [
  ['en-US', 'Too many payment attempts. For your security, please wait 30 minutes before trying again.'],
  ['fr-FR', 'Trop de tentatives de paiement. Pour votre sécurité, veuillez patienter 30 minutes avant de réessayer.'],
] as const) {
  test.describe(`in ${locale}`, () => {
    test.use({ locale });

    test('six declined cards in a row on one order: the sixth is refused, with Retry-After and a message the shopper reads', async ({ page }) => {
      const address = locale === 'en-US' ? '198.51.100.61' : '198.51.100.62';
      await open(page, servers[0], address);
      for (let i = 1; i <= 5; i++) {
        // On PostgreSQL, the last declines go through the other server: same order, same count.
        if (i === 4 && servers.length > 1) await open(page, servers[1], address);
        const answer = await payOnPage(page, '4000000000000002');
        expect(answer.status(), `decline ${i}`).toBe(402);
        await expect(page.getByTestId('payment-error')).not.toBeEmpty();
        await expect(page.getByTestId('pay-button')).toBeEnabled();
      }
      const sixth = await payOnPage(page, '4242424242424242');
      expect(sixth.status()).toBe(429);
      const wait = Number(sixth.headers()['retry-after']);
      expect(wait).toBeGreaterThan(1700);
      expect(wait).toBeLessThanOrEqual(1801);
      await expect(page.getByTestId('payment-error')).toHaveText(message);
      await expect(page.getByTestId('pay-button')).toBeEnabled();
    });
  });
}

test('a script cycling 50 orders from one address is cut off; a shopper on another address pays throughout', async ({ page }) => {
  test.setTimeout(90_000);
  const statuses: number[] = [];
  const shopperPaid: string[] = [];
  for (let i = 0; i < 50; i++) {
    const server = servers[i % servers.length];
    const who = await shopper(server);
    const r = await fetch(`${server.url}/pay`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: who.cookie, 'X-Forwarded-For': '203.0.113.77' },
      body: JSON.stringify({ payment_method_id: 'pm_card_visa_chargeDeclined' }),
    });
    statuses.push(r.status);
    if (r.status === 429) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await r.json()).error).toMatch(/^Too many payment attempts/);
    } else {
      await r.text();
    }
    if (i % 25 === 0 || i === 49) {
      // The real shopper, behind the same proxy, from elsewhere.
      await open(page, servers[(i + 1) % servers.length], '198.51.100.99');
      const answer = await payOnPage(page, '4242424242424242');
      expect(answer.status(), `the shopper at script attempt ${i}`).toBe(200);
      await expect(page.getByTestId('payment-success')).toBeVisible();
      shopperPaid.push(String(i));
    }
  }
  expect(statuses.slice(0, 10)).toEqual(Array(10).fill(402));
  expect(statuses.slice(10)).toEqual(Array(40).fill(429));
  expect(shopperPaid).toHaveLength(3);
});
