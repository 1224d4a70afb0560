// Navigation → Card Element usable (the pay button enables once Stripe.js is loaded and the
// Card Element mounted), in Chromium on localhost, measured in the page from its time origin.
import { test } from '@playwright/test';
import { save, server, summary } from './measure';

test('card element ready', async ({ browser }) => {
  const runs = Number(process.env.BENCH_CARD_RUNS ?? 25);
  const ready: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    // A new context each time: a first visit, with the browser's HTTP cache empty.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const seen = () => {
        const button = document.querySelector('[data-testid="pay-button"]') as HTMLButtonElement | null;
        if (button && !button.disabled && !(window as any).__cardReady) (window as any).__cardReady = performance.now();
      };
      new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled'] });
    });
    await page.goto(`${server}/`);
    await page.waitForFunction(() => (window as any).__cardReady !== undefined, null, { timeout: 30_000 });
    const ms = await page.evaluate(() => (window as any).__cardReady as number);
    if (i >= 3) ready.push(ms);
    await context.close();
  }
  save('card_ready', { ms: summary(ready) });
});
