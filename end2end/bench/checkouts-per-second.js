// Checkouts per second: `node checkouts-per-second.js <checkouts> <concurrency> <url>...`.
// Each checkout loads the page from one server and pays (4242, POST /pay) through the next,
// so with two servers every payment crosses them. Prints one JSON line.
const [total, concurrency, ...urls] = [Number(process.argv[2]), Number(process.argv[3]), ...process.argv.slice(4)];

async function checkout(i) {
  const page = await fetch(`${urls[i % urls.length]}/`);
  const cookie = page.headers.get('set-cookie').split(';')[0];
  await page.text();
  const paid = await fetch(`${urls[(i + 1) % urls.length]}/pay`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: cookie },
    body: JSON.stringify({ payment_method_id: 'pm_card_visa' }),
  });
  if ((await paid.json()).success !== true) throw new Error(`checkout ${i} failed (${paid.status})`);
}

(async () => {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await checkout(next++);
  }));
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ servers: urls.length, checkouts: total, concurrency, seconds: Number(seconds.toFixed(2)), per_second: Number((total / seconds).toFixed(1)) }));
})().catch((err) => { console.error(err); process.exit(1); });
