// The standalone stripe-emulator that Playwright starts for the stand-in spec
// (playwright.config.ts `webServer`); the checkout app embeds its own.
export const emulatorURL = process.env.STRIPE_EMULATOR_URL ?? 'http://127.0.0.1:12199';
