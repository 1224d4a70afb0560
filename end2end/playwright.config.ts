import { defineConfig } from '@playwright/test';
import { emulatorURL } from './emulator';

// The site cargo-leptos serves (Cargo.toml `site-addr`).
export const baseURL = process.env.CHECKOUT_BASE_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  testDir: './tests',
  // E2E_SPECS (a regular expression) runs some spec files only: scripts/test.sh's second
  // pass runs the safety suite on PostgreSQL.
  ...(process.env.E2E_SPECS ? { testMatch: new RegExp(process.env.E2E_SPECS) } : {}),
  // cargo-leptos starts the server and Playwright together; wait for the site first.
  globalSetup: './global-setup.ts',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  // A standalone emulator for specs that drive the Stripe.js stand-in on a page of their own.
  webServer: {
    // The build the run is against (scripts/test.sh: release), else the dev loop's.
    command: `../target/${process.env.E2E_BUILD ?? 'debug'}/stripe-emulator --addr ${new URL(emulatorURL).host}`,
    url: `${emulatorURL}/v3/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
  },
  use: {
    baseURL,
    // What the browser asks for (Accept-Language, navigator.language): English unless a
    // spec asks for French (tests/languages.spec.ts).
    locale: 'en-US',
    trace: 'retain-on-failure',
    browserName: 'chromium',
    // Debian's chromium: Playwright must never download a browser of its own.
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
