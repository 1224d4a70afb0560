// Starts the checkout server binary as its own process (for restart and log tests), against
// the standalone emulator, with a database of its own.
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { emulatorURL } from './emulator';

export const SPAWNED_SECRET_KEY = 'sk_test_spawnedServerSecret42';

export type Server = { url: string; process: ChildProcess; logs: string[]; databaseUrl: string };

const root = resolve(__dirname, '..');

/// A new, empty order database: a SQLite file, or, when E2E_POSTGRES names a PostgreSQL
/// server (scripts/test.sh's second pass), a new database there.
export function freshDatabase(): string {
  const server = process.env.E2E_POSTGRES;
  if (server) {
    const name = `e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    execFileSync('psql', [server, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`]);
    return `${server.slice(0, server.lastIndexOf('/'))}/${name}`;
  }
  const dir = mkdtempSync(join(tmpdir(), 'checkout-'));
  databaseDirs.push(dir);
  return `sqlite://${join(dir, 'checkout.db')}`;
}

// The SQLite files of this worker's servers (some grow to megabytes under load) go when the
// worker does: repeated runs on one machine would otherwise fill its /tmp.
const databaseDirs: string[] = [];
process.once('exit', () => {
  for (const dir of databaseDirs) rmSync(dir, { recursive: true, force: true });
});

/// Which Stripe the server talks to: the standalone emulator (default), another emulator
/// by URL, or its own embedded one (no keys, as `cargo leptos watch` runs it) on `addr`.
export type StripeChoice = { url: string } | { embedded: string };

function stripeEnv(choice: StripeChoice): Record<string, string | undefined> {
  if ('embedded' in choice) {
    return { STRIPE_SECRET_KEY: undefined, STRIPE_PUBLISHABLE_KEY: undefined, STRIPE_API_BASE: undefined, STRIPE_JS_URL: undefined, STRIPE_EMULATOR_ADDR: choice.embedded };
  }
  return {
    STRIPE_SECRET_KEY: SPAWNED_SECRET_KEY,
    STRIPE_PUBLISHABLE_KEY: 'pk_test_spawnedServerPublic42',
    STRIPE_API_BASE: choice.url,
    STRIPE_JS_URL: `${choice.url}/v3/`,
  };
}

export function serverEnv(port: number, databaseUrl: string, stripe: StripeChoice, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    LEPTOS_OUTPUT_NAME: 'checkout',
    LEPTOS_SITE_ROOT: 'target/site',
    LEPTOS_SITE_PKG_DIR: 'pkg',
    // cargo-leptos builds with hash-files: hash.txt beside the binary names the files.
    LEPTOS_HASH_FILES: 'true',
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    RUST_LOG: 'debug,hyper=info,h2=info,sqlx=info,tower=info',
    NO_COLOR: '1',
    // Text lines (some specs read them), whatever the run's main server writes.
    CHECKOUT_LOG_FORMAT: 'text',
    // Every spec runs from 127.0.0.1: the address limits are card-testing.spec.ts's own.
    CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE: '0',
    CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR: '0',
    ...stripeEnv(stripe),
    ...extra,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as NodeJS.ProcessEnv;
}

/// The server binary of the build the run is against (scripts/test.sh: release), else the dev loop's.
export const serverBinary = join(root, `target/${process.env.E2E_BUILD ?? 'debug'}/checkout`);
export const projectRoot = root;

export async function startServer(port: number, databaseUrl: string, stripe: StripeChoice = { url: emulatorURL }, extra: Record<string, string> = {}): Promise<Server> {
  const logs: string[] = [];
  const child = spawn(serverBinary, [], {
    cwd: root,
    env: serverEnv(port, databaseUrl, stripe, extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept for the log scan after the run (scripts/test.sh: tests/logs.rs), when asked.
  const keep = process.env.E2E_SERVER_LOGS
    ? createWriteStream(join(process.env.E2E_SERVER_LOGS, `server-${port}-${Date.now()}.log`))
    : undefined;
  const take = (d: Buffer) => {
    logs.push(d.toString());
    keep?.write(d);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  child.once('exit', () => keep?.end());
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited: ${logs.join('')}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, process: child, logs, databaseUrl };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start: ${logs.join('')}`);
}

export async function killServer(server: Server) {
  // Already gone (exited, or killed by a signal: then `exitCode` stays null).
  if (server.process.exitCode !== null || server.process.signalCode !== null) return;
  const exited = new Promise((r) => server.process.once('exit', r));
  server.process.kill('SIGKILL');
  await exited;
}

/// Runs SQL on an order database with its command-line tool (sqlite3 or psql); a query's
/// rows as objects (integers as numbers), nothing for a statement.
export function sql(databaseUrl: string, query: string): any[] {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const select = /^\s*select\b/i.test(query);
    const text = select ? `SELECT COALESCE(json_agg(t), '[]') FROM (${query}) t` : query;
    const out = execFileSync('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-tAqc', text], { encoding: 'utf8' });
    return select ? JSON.parse(out) : [];
  }
  const path = databaseUrl.replace(/^sqlite:(\/\/)?/, '').replace(/\?.*$/, '');
  const out = execFileSync('sqlite3', ['-json', path, query], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

/// A shopper of a spawned server, by HTTP: the page's cookie and the order's reference.
export type Shopper = { cookie: string; reference: string };

/// Loads `server`'s page (a glance: the order is stored by its first change or pay).
export async function shopper(server: { url: string }): Promise<Shopper> {
  const page = await fetch(`${server.url}/`);
  return { cookie: page.headers.get('set-cookie')!.split(';')[0], reference: /class="reference">([A-Z0-9-]+)</.exec(await page.text())![1] };
}

/// `POST /pay` with 4242 for `who` through `server`: its status and JSON answer.
export async function pay(server: { url: string }, who: Shopper) {
  const r = await fetch(`${server.url}/pay`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Cookie: who.cookie },
    body: JSON.stringify({ payment_method_id: 'pm_card_visa' }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, body: await r.json() };
}
