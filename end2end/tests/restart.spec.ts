// The server can die between pay (requires_action) and reconfirm without losing the order,
// and nothing it logs carries a secret key or a client secret.
import { test, expect } from '@playwright/test';
import { emulatorURL } from '../emulator';
import { answerChallenge, orderRecord, typeCard } from '../checkout-helpers';
import { freshDatabase, killServer, startServer, SPAWNED_SECRET_KEY } from '../server-process';

test('killing the server during 3-D Secure loses nothing: after a restart the order is paid once', async ({ page }) => {
  const database = freshDatabase();
  let server = await startServer(3107, database);
  try {
    await page.goto(server.url);
    await expect(page.getByTestId('pay-button')).toBeEnabled({ timeout: 20_000 });
    const reference = (await page.locator('#summary-title .reference').textContent())!.trim();
    const clientSecrets: string[] = [];
    const reading: Promise<void>[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/pay')) {
        reading.push(r.text().then((text) => {
          const m = /"client_secret":"([^"]+)"/.exec(text);
          if (m) clientSecrets.push(m[1]);
        }));
      }
    });
    await typeCard(page, '4000002500003155');
    await page.getByTestId('pay-button').click();
    await expect(page.frameLocator('iframe[name$="_challenge"]').getByRole('button', { name: 'Complete authentication' })).toBeVisible();

    const firstLogs = server.logs;
    await killServer(server);
    server = await startServer(3107, database);

    await answerChallenge(page, 'Complete authentication');
    await expect(page.getByTestId('payment-success')).toBeVisible();
    await expect(page.getByTestId('order-reference')).toHaveText(reference);

    const state = await (await fetch(`${emulatorURL}/_emulator/state`)).json();
    const intents = state.payment_intents.filter((pi: any) => pi.metadata.order_reference === reference);
    expect(intents.map((pi: any) => pi.status)).toEqual(['succeeded']);
    expect(orderRecord(reference, database)).toMatchObject({ status: 'paid', fulfilments: 1 });

    // Logs, at debug level, of both lives of the server.
    const logs = firstLogs.concat(server.logs).join('');
    expect(logs).toContain('stripe call succeeded');
    // Every Stripe call is logged with the order id and Stripe's Request-Id.
    const responded = logs.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((line) => line.includes('stripe responded'));
    expect(responded.length, 'create before the restart, confirm after').toBeGreaterThanOrEqual(2);
    for (const line of responded) expect(line).toMatch(/order_id=ord_[a-z0-9]+.*request_id="?req_[A-Za-z0-9]+/);
    await Promise.all(reading);
    expect(clientSecrets).toHaveLength(1);
    expect(logs.includes(SPAWNED_SECRET_KEY)).toBe(false);
    expect(logs.includes(clientSecrets[0])).toBe(false);
    expect(logs).not.toMatch(/_secret_[A-Za-z0-9]{10,}/);
  } finally {
    await killServer(server);
  }
});
