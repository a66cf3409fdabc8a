/**
 * The admin page (issue 14) in a real browser: Debian's Chromium, driven by playwright-core,
 * against the real gateway on a real port over the fake OpenRouter. End to end: sign in, create
 * a key in the page and use it, see it in Live and its cost in Usage, narrow its models (403),
 * revoke it (401), sign out (the API is 401 again). Screenshots of each view go to
 * test-output/admin/, with weight.json (what the first load transfers and how long it takes).
 * Skipped only when /usr/bin/chromium is missing (apt-get install chromium); never downloads one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { BUILT_PAGE, REPOSITORY, buildAdminPageIfStale } from '../helpers/admin-page-build.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const OUTPUT = join(REPOSITORY, 'test-output', 'admin');
const MODEL = 'openai/gpt-4o';
/** What the fake OpenRouter reports as the cost of each answer (`usage.cost`). */
const COST_USD = 0.0123;
const PHONE_WIDTH = 375;
const SLOW = { timeout: 120_000 };

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

interface PageTiming {
  domContentLoadedMs: number;
  loadMs: number;
  files: { url: string; transferredBytes: number; bodyBytes: number }[];
}

describe.skipIf(!existsSync(CHROMIUM))(`the admin page in Chromium (skipped when ${CHROMIUM} is missing: apt-get install chromium)`, () => {
  let fake: FakeOpenRouter;
  let gateway: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let directory: string;
  let filterFile: string;
  let adminKey: string;
  let colleagueKey: string;
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  const failedResponses: string[] = [];

  /** Goes to a view by its hash and waits for its heading (each view's h1 is its title). */
  const open = async (view: string) => {
    await page.goto(`${gateway.url}/admin/#/${view}`);
    await page.getByRole('heading', { level: 1, name: view[0]!.toUpperCase() + view.slice(1), exact: true }).waitFor();
  };
  const screenshot = (name: string) => page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
  const chat = async (key: string) => {
    const response = await fetch(`${gateway.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const newContext = async (width = 1200) => {
    const created = await browser.newContext({ viewport: { width, height: 900 }, serviceWorkers: 'block' });
    created.on('request', (request) => requested.push(request.url()));
    created.on('response', (response) => {
      if (response.status() >= 400) failedResponses.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    });
    created.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    created.on('weberror', (error) => consoleErrors.push(error.error().message));
    return created;
  };

  beforeAll(async () => {
    buildAdminPageIfStale();
    mkdirSync(OUTPUT, { recursive: true });
    directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-admin-page-'));
    const keysFile = join(directory, 'keys.json');
    adminKey = lastLine(createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }));
    filterFile = join(directory, 'models-filter.txt');
    writeFileSync(filterFile, 'openai/*\nanthropic/*\n');
    fake = await startFakeOpenRouter();
    fake.script(MODEL, { sse: textStream(['Hello', ' there'], 'stop', [12, 2], { cost: COST_USD }) });
    gateway = await startGateway(fake.baseUrl, {
      BRIDGE_KEYS_FILE: keysFile,
      MODELS_FILTER: filterFile,
      USAGE: true,
      USAGE_DB: join(directory, 'usage.db'),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    context = await newContext();
    page = await context.newPage();
  }, SLOW.timeout);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await fake?.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it('loads light: its first load, transferred bytes and time, are written to weight.json', SLOW, async () => {
    const fresh = await newContext();
    const first = await fresh.newPage();
    const started = Date.now();
    await first.goto(`${gateway.url}/admin`);
    await first.getByLabel('Admin key').waitFor();
    const untilSignInShown = Date.now() - started;
    // Run in the page (a string: the tests' TypeScript has no DOM types).
    const timing = await first.evaluate<PageTiming>(`(() => {
      const navigation = performance.getEntriesByType('navigation')[0];
      const files = [navigation, ...performance.getEntriesByType('resource')]
        .filter((entry) => !new URL(entry.name).pathname.startsWith('/admin/api/'))
        .map((entry) => ({ url: entry.name, transferredBytes: entry.transferSize, bodyBytes: entry.encodedBodySize }));
      return { domContentLoadedMs: navigation.domContentLoadedEventEnd, loadMs: navigation.loadEventEnd, files };
    })()`);
    await fresh.close();
    const built = ['index.html', ...readdirSync(join(BUILT_PAGE, 'assets')).filter((name) => /\.(js|css)$/.test(name)).map((name) => `assets/${name}`)];
    const sizes = built.map((name) => {
      const bytes = readFileSync(join(BUILT_PAGE, name));
      return { file: name, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
    });
    const gzipTotal = sizes.reduce((sum, size) => sum + size.gzipBytes, 0);
    const transferred = timing.files.reduce((sum, file) => sum + file.transferredBytes, 0);
    writeFileSync(join(OUTPUT, 'weight.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), untilSignInShownMs: untilSignInShown, ...timing, transferredBytes: transferred, built: sizes, gzipTotalBytes: gzipTotal }, null, 2)}\n`);
    // index.html, one script and one style sheet: nothing else on the first load.
    expect(timing.files.map((file) => new URL(file.url).pathname).sort()).toEqual(['/admin/', ...built.slice(1).map((name) => `/admin/${name}`)].sort());
    expect(gzipTotal).toBeLessThan(100_000);
  });

  it('says how to create an admin key when there is none, and offers nothing else', SLOW, async () => {
    const bare = await startGateway(fake.baseUrl, {});
    const other = await newContext();
    try {
      const alone = await other.newPage();
      await alone.goto(`${bare.url}/admin/`);
      await alone.getByText('No admin key is configured').waitFor();
      expect(await alone.locator('main').textContent()).toContain('ollama-bridge keys create --name me --admin --keys-file keys.json');
      expect(await alone.locator('input, nav').count()).toBe(0);
      await alone.screenshot({ path: join(OUTPUT, 'no-admin-key.png'), fullPage: true });
    } finally {
      await other.close();
      await bare.close();
    }
  });

  it('signs in with the keyboard: Tab reaches the key field, then the button; a wrong key is said next to the form', SLOW, async () => {
    await page.goto(`${gateway.url}/admin/`);
    await page.getByLabel('Admin key').waitFor();
    expect(await page.title()).toBe('Sign in · ollama-bridge admin');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await screenshot('sign-in');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('admin-key');
    // A visible focus ring.
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    expect(parseFloat(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineWidth'))).toBeGreaterThanOrEqual(2);
    await page.keyboard.type('obk_nothing0_notAKeyAtAllnotAKeyAtAllnotAKey');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Sign in');
    await page.keyboard.press('Enter');
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).not.toBe('');

    await page.getByLabel('Admin key').fill(adminKey);
    await page.getByLabel('Admin key').press('Enter');
    await page.getByRole('navigation', { name: 'Admin pages' }).waitFor();
    expect(await page.getByText('Signed in as operator').count()).toBe(1);
    const cookies = await context.cookies();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie.httpOnly).toBe(true);
      expect(cookie.sameSite).toBe('Strict');
    }
    expect(await page.evaluate('document.cookie')).toBe('');
  });

  it('Overview: backends, models served and usage', SLOW, async () => {
    await open('overview');
    await page.getByRole('region', { name: 'Backends' }).getByText('openrouter').waitFor();
    expect(await page.title()).toBe('Overview · ollama-bridge admin');
    expect(await page.locator('.cards').textContent()).toContain('Ready');
    await screenshot('overview');
  });

  it('Keys: a key created in the page is shown once and works for a chat', SLOW, async () => {
    await open('keys');
    await page.getByLabel('Name').fill('colleague');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByLabel('New key');
    await shown.waitFor();
    colleagueKey = await shown.inputValue();
    expect(colleagueKey).toMatch(/^obk_[A-Za-z0-9]+_[A-Za-z0-9]+$/);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway.url });
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(colleagueKey);
    await page.getByRole('row', { name: /colleague/ }).waitFor();
    await screenshot('keys-created');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByLabel('New key').count()).toBe(0);

    // The same name again: the API's error is shown next to the form.
    await page.getByLabel('Name').fill('colleague');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('.key-form').getByRole('alert').waitFor();
    expect(await page.locator('.key-form').getByRole('alert').textContent()).toMatch(/colleague/);
  });

  it('Live: the chat arrives as it is answered, with its key, route, model and cost', SLOW, async () => {
    await open('live');
    await page.getByText(/^Connected/).waitFor();
    const answer = await chat(colleagueKey);
    expect(answer.status).toBe(200);
    expect(answer.body.message.content).toBe('Hello there');
    const row = page.getByRole('row').filter({ hasText: 'colleague' }).filter({ hasText: '/api/chat' });
    await row.waitFor();
    const text = await row.textContent();
    expect(text).toContain(MODEL);
    expect(text).toContain('200');
    expect(text).toContain('$0.0123');
    expect(text).not.toContain('Hello there');
    await screenshot('live');
  });

  it('Usage: the chat\'s cost by key, as a chart and in the table', SLOW, async () => {
    await open('usage');
    const row = page.getByRole('region', { name: 'Usage by key' }).locator('tr[data-group="colleague"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells).toEqual(['1', '12', '2', '0', '$0.0123']);
    expect(await page.locator('.chart canvas').count()).toBe(2);
    const csv = page.getByRole('link', { name: 'Download CSV' });
    expect(await csv.getAttribute('href')).toMatch(/^\/admin\/api\/usage\.csv\?since=\d{4}-\d\d-\d\d&until=\d{4}-\d\d-\d\d&by=day%2Ckey$/);
    const exported = await page.evaluate(async (href) => (await fetch(href!, { credentials: 'same-origin' })).text(), await csv.getAttribute('href'));
    expect(exported).toContain('colleague');
    await screenshot('usage');

    await page.getByLabel('Group by').selectOption('model');
    await page.getByRole('button', { name: 'Show' }).click();
    // By the model as served (what the upstream says answered).
    const byModel = page.getByRole('region', { name: 'Usage by model' }).locator('tbody tr');
    await byModel.waitFor();
    expect(await byModel.locator('td').last().textContent()).toBe('$0.0123');
    await screenshot('usage-by-model');
  });

  it('Models: the catalog with the keys allowed, and the filter previewed, then saved to its file', SLOW, async () => {
    await open('models');
    const gpt = page.getByRole('region', { name: 'Models' }).getByRole('row').filter({ hasText: MODEL }).first();
    await gpt.waitFor();
    expect(await gpt.textContent()).toContain('colleague');
    const filter = page.getByLabel('Filter lines');
    expect(await filter.inputValue()).toBe('openai/*\nanthropic/*\n');
    await filter.fill('openai/*\n');
    await page.getByRole('button', { name: 'Preview' }).click();
    const removed = page.locator('.models-removed');
    await removed.waitFor();
    expect(await removed.textContent()).toContain('anthropic/claude-sonnet-4.5');
    expect(readFileSync(filterFile, 'utf8')).toBe('openai/*\nanthropic/*\n');
    await screenshot('models-preview');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/^Saved:/).waitFor();
    expect(readFileSync(filterFile, 'utf8')).toBe('openai/*\n');
    await screenshot('models');
  });

  it('Keys: narrowing the key\'s models in the page makes the chat 403; revoking it makes it 401', SLOW, async () => {
    await open('keys');
    await page.getByRole('button', { name: 'Edit colleague' }).click();
    await page.locator('#edit-key-models').fill('anthropic/*');
    const patch = page.waitForRequest((request) => request.method() === 'PATCH');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Key colleague saved.').waitFor();
    // Only the field changed is sent, with the session's CSRF token.
    expect((await patch).postDataJSON()).toEqual({ models: ['anthropic/*'] });
    expect((await patch).headers()['x-csrf-token']).toMatch(/^\S{16,}$/);
    await page.getByRole('row', { name: /colleague/ }).filter({ hasText: 'anthropic/*' }).waitFor();
    const refused = await chat(colleagueKey);
    expect(refused.status).toBe(403);
    expect(typeof refused.body.error).toBe('string');
    await screenshot('keys');

    await page.getByRole('button', { name: 'Revoke colleague' }).click();
    await page.getByRole('button', { name: 'Yes, revoke colleague' }).click();
    await page.getByText('Key colleague revoked.').waitFor();
    await page.getByRole('row', { name: /colleague/ }).waitFor({ state: 'detached' });
    expect((await chat(colleagueKey)).status).toBe(401);
  });

  it(`fits a ${PHONE_WIDTH} px wide screen: the body never scrolls sideways (tables do)`, SLOW, async () => {
    await page.setViewportSize({ width: PHONE_WIDTH, height: 800 });
    for (const view of ['overview', 'keys', 'models', 'usage', 'live']) {
      await open(view);
      await page.locator('table').first().waitFor();
      const overflow = await page.evaluate<{ page: number; body: number; window: number }>('({ page: document.documentElement.scrollWidth, body: document.body.scrollWidth, window: window.innerWidth })');
      expect({ view, widest: Math.max(overflow.page, overflow.body) }).toEqual({ view, widest: overflow.window });
      await screenshot(`${view}-${PHONE_WIDTH}px`);
    }
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it('signs out: back to sign-in, and the API answers 401 to the browser', SLOW, async () => {
    await open('overview');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    const status = await page.evaluate(async () => (await fetch('/admin/api/overview', { credentials: 'same-origin' })).status);
    expect(status).toBe(401);
  });

  it('stayed on 127.0.0.1: nothing the pages loaded went anywhere else, and no error reached the console', () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((url) => new URL(url).hostname !== '127.0.0.1')).toEqual([]);
    // The refused sign-in, the key name taken, and the call made after signing out; nothing else failed.
    expect(failedResponses).toEqual(['401 POST /admin/api/session', expect.stringMatching(/^4\d\d POST \/admin\/api\/keys$/), '401 GET /admin/api/overview']);
    // Chromium logs each failed fetch (those above); anything else (a script error, a CSP refusal) is a fault.
    expect(consoleErrors.filter((text) => !text.startsWith('Failed to load resource'))).toEqual([]);
  });
});
