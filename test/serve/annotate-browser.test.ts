// Browser test: Debian's Chromium driven by playwright-core. Two annotators log in and label pairs
// with the keyboard; a response containing <script> and <img onerror> shows as text and runs
// nothing; the admin page shows their counts. Screenshots go to $GSHF_SCREENSHOTS (e.g. docs/) when
// set, else to a temp dir. Skipped when /usr/bin/chromium is missing (scripts/install.sh adds it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAnnotateServer, type RunningAnnotateServer } from '../../src/serve/annotate/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'browser-admin-token-0123456789';
const XSS_A = 'Sure!\n<script>window.__pwned = "script"</script>\nThat is all.';
const XSS_B = 'Here: <img src="x" onerror="window.__pwned = \'img\'"> done';
let dir: string;
let srv: RunningAnnotateServer;
let browser: Browser | undefined;
const tokens: Record<string, string> = {};

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  dir = mkdtempSync(join(tmpdir(), 'gshf-browser-'));
  srv = await startAnnotateServer({
    db: `sqlite:${join(dir, 'a.db')}`,
    host: '127.0.0.1',
    port: 0,
    adminToken: ADMIN,
  });
  await api(ADMIN, 'POST', '/api/projects', { name: 'demo', k: 2, description: 'browser test' });
  await api(ADMIN, 'POST', '/api/projects/demo/tasks', {
    tasks: [
      { id: 'xss', prompt: 'Say hello (untrusted model output below)', a: XSS_A, b: XSS_B, priority: 10 },
      {
        id: 'capital',
        prompt: 'What is the capital of France?',
        a: 'Paris is the capital of France.',
        b: 'The capital of France is Lyon, a city famous for its food.',
        priority: 5,
        gold: 'a',
      },
      {
        id: 'haiku',
        prompt: 'Write a haiku about autumn.',
        a: 'Leaves drift on the pond\nthe heron does not look up\ncold light, then no light',
        b: 'Autumn is a season. It comes after summer. Leaves fall.',
        priority: 1,
      },
    ],
  });
  for (const name of ['ada', 'grace'])
    tokens[name] = String((await api(ADMIN, 'POST', '/api/annotators', { name })).token);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // A fresh --user-data-dir: playwright's launch() creates a new temporary profile itself (and
      // refuses the flag), deleting it on close.
    ],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const shots = () => process.env.GSHF_SCREENSHOTS ?? dir;

async function login(page: Page, token: string, landing: string) {
  await page.goto(srv.url + '/login');
  await page.getByLabel('Your token').fill(token);
  await Promise.all([page.waitForURL(srv.url + landing), page.keyboard.press('Enter')]);
}

/** Presses a shortcut and waits for the answer to be saved and the next task to load. */
async function press(page: Page, key: string) {
  const next = page.waitForResponse((r) => r.url().endsWith('/next') && r.request().method() === 'POST');
  const saved = page.waitForResponse((r) => r.url().endsWith('/annotations') && r.status() === 201);
  await page.keyboard.press(key);
  await saved;
  await next;
}

test(
  'two annotators label with the keyboard; untrusted HTML shows as text; admin page',
  { timeout: 180_000 },
  async (t) => {
    if (browser === undefined) return t.skip('no /usr/bin/chromium');
    const errors: string[] = [];
    const pages: Page[] = [];
    for (const name of ['ada', 'grace']) {
      const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await login(page, tokens[name], '/annotate');
      await page.locator('#prompt', { hasText: 'Say hello' }).waitFor();
      pages.push(page);
    }
    // The untrusted responses are text: the literal tags are visible, no element was created, nothing ran.
    for (const page of pages) {
      const sides = [await page.locator('#left').textContent(), await page.locator('#right').textContent()];
      assert.deepEqual([...sides].sort(), [XSS_A, XSS_B].sort());
      assert.equal(await page.locator('#left img, #right img, #left script, #right script').count(), 0);
      assert.equal(await page.evaluate('window.__pwned'), undefined);
    }
    if (process.env.GSHF_SCREENSHOTS)
      await pages[0].screenshot({ path: join(shots(), 'annotate-annotator.png') });
    // Ada: A, (the side saying Paris, on the gold task), B; Grace: B, T, X — all via the keyboard.
    const keys = [
      ['a', 'paris', 'b'],
      ['b', 't', 'x'],
    ];
    for (const [i, page] of pages.entries()) {
      await page.locator('#rationale').fill('first impression');
      await page.keyboard.press('Escape'); // leave the text box: keys are shortcuts again
      for (const k of keys[i]) {
        const left = (await page.locator('#left').textContent()) ?? '';
        await press(page, k === 'paris' ? (left.startsWith('Paris') ? 'a' : 'b') : k);
      }
      await page.locator('#prompt', { hasText: 'No task waiting' }).waitFor();
      assert.match((await page.locator('#progress').textContent()) ?? '', /Done: 3/);
      assert.equal(await page.evaluate('window.__pwned'), undefined);
    }
    const project = await srv.store.getProject('demo');
    const rows = await srv.store.annotations(project!.id, null);
    assert.equal(rows.length, 6);
    const by = (n: string) => rows.filter((r) => r.annotator === n);
    assert.equal(by('ada').length, 3);
    assert.equal(by('ada')[0].rationale, 'first impression');
    // The recorded side order maps keys back to a/b: 'a' key = left = (swapped ? b : a).
    const expect = (key: string, swapped: boolean) =>
      key === 'paris'
        ? 'a'
        : key === 'a'
          ? swapped
            ? 'b'
            : 'a'
          : key === 'b'
            ? swapped
              ? 'a'
              : 'b'
            : key === 't'
              ? 'tie'
              : 'both-bad';
    for (const [i, name] of ['ada', 'grace'].entries()) {
      assert.deepEqual(
        by(name).map((r) => r.verdict),
        by(name).map((r, j) => expect(keys[i][j], r.shownSwapped)),
      );
    }
    // A phone-sized viewport stacks the two responses.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    const pp = await phone.newPage();
    await login(pp, tokens.ada, '/annotate');
    const leftBox = await pp.locator('#left').boundingBox();
    const rightBox = await pp.locator('#right').boundingBox();
    assert.ok(
      leftBox && rightBox && rightBox.y > leftBox.y + leftBox.height - 1,
      'responses stacked on a phone',
    );
    // The admin page: counts, agreement and the plot.
    const actx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const admin = await actx.newPage();
    admin.on('pageerror', (e) => errors.push(e.message));
    const plotLoaded = admin.waitForResponse((r) => r.url().includes('/plot.svg') && r.status() === 200);
    await login(admin, ADMIN, '/admin');
    await admin.locator('#annotators tbody tr').nth(1).waitFor();
    const table = await admin.locator('#annotators tbody').innerText();
    assert.match(table, /ada\s+3\s+0\s+1\s+1\.000/); // ada answered the gold task correctly
    assert.match(table, /grace\s+3\s+0\s+1\s+0\.000/); // grace said tie
    // (Waiting uses locators and CDP evaluation: string predicates would need eval, which our CSP forbids.)
    await plotLoaded;
    await admin.locator('#plot').evaluate((img) => (img as unknown as { decode(): Promise<void> }).decode());
    if (process.env.GSHF_SCREENSHOTS)
      await admin.screenshot({ path: join(shots(), 'annotate-admin.png'), fullPage: true });
    assert.deepEqual(errors, []);
  },
);
