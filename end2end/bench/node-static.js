// The reference the issue measured against: Stripe's Node sample (accept-a-card-payment,
// without-webhooks) serves its checkout page as a static file with Express. This is that
// server's static part: `express.static` on a directory, on the port given.
const express = require('express');
const [dir, port] = process.argv.slice(2);
const app = express();
app.use(express.static(dir));
app.listen(Number(port), '127.0.0.1', () => console.log(`node static on ${port}`));
