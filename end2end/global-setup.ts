import { baseURL } from './playwright.config';

// Polls the site until it answers, so tests never race the server's start-up.
export default async function waitForSite(): Promise<void> {
  const deadline = Date.now() + 180_000;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(baseURL, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the site at ${baseURL} did not answer within 180 s (last: ${lastError})`);
}
