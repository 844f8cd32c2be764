// Browser test: Debian's Chromium driven by playwright-core. Two annotators log in, read the
// project's guidelines (safe Markdown) and label pairs with the keyboard; a response containing
// <script> and <img onerror> shows as text and runs nothing; a key pressed while an answer saves is
// refused with a notice (not lost, not applied to the next task); undo brings the last task back;
// the empty queue shows its own state; a ranking and a rating task are answered with the keyboard;
// the admin page shows counts and the explorer filters. Waits are on page state (body[data-state],
// the shown task id), never on time or on network events. Screenshots go to $GSHF_SCREENSHOTS
// (e.g. docs/) when set. Skipped when /usr/bin/chromium is missing.
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
const GUIDELINES =
  '### How to judge\nPrefer the response that is **correct**, then the *clearer* one.\n\n' +
  '- Facts beat style\n- Say *tie* only when you cannot choose\n\n<script>window.__pwned = "guidelines"</script>';
let dir: string;
let srv: RunningAnnotateServer;
let browser: Browser | undefined;
const tokens: Record<string, string> = {};
const WAIT = { timeout: 60_000 };

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
  await api(ADMIN, 'POST', '/api/projects', {
    name: 'demo',
    k: 2,
    description: 'browser test',
    guidelines: GUIDELINES,
  });
  await api(ADMIN, 'POST', '/api/projects/demo/tasks', {
    tasks: [
      {
        id: 'xss',
        prompt: 'Say hello (untrusted model output below)',
        a: XSS_A,
        b: XSS_B,
        priority: 10,
        metadata: { source: 'red-team', turn: 1 },
      },
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
        metadata: { model: 'policy-iter-3', temperature: 0.7 },
      },
    ],
  });
  await api(ADMIN, 'POST', '/api/projects', {
    name: 'multi',
    k: 1,
    guidelines: 'Rank by **helpfulness**; rate each dimension on its own.',
  });
  await api(ADMIN, 'POST', '/api/projects/multi/tasks', {
    tasks: [
      {
        id: 'rank-sort',
        kind: 'ranking',
        prompt: 'How do I sort a list in Python?',
        responses: [
          'Use sorted(xs) for a new list, or xs.sort() in place.',
          'Lists cannot be sorted.',
          'Try xs.sort().',
        ],
        priority: 2,
        metadata: { sampler: 'best-of-3' },
      },
      {
        id: 'rate-tea',
        kind: 'rating',
        prompt: 'How long should green tea steep?',
        responses: ['Two to three minutes at about 80 °C; longer turns it bitter.'],
        scale: { dimensions: ['helpfulness', 'harmlessness'], min: 1, max: 5 },
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

const shot = async (page: Page, name: string, fullPage = false) => {
  if (process.env.GSHF_SCREENSHOTS)
    await page.screenshot({ path: join(process.env.GSHF_SCREENSHOTS, name), fullPage });
};

async function login(page: Page, token: string, landing: string) {
  await page.goto(srv.url + '/login');
  await page.getByLabel('Your token').fill(token);
  await Promise.all([page.waitForURL(srv.url + landing, WAIT), page.keyboard.press('Enter')]);
}

/** The shown task id once the page is idle (ready or empty). */
async function settled(page: Page): Promise<string> {
  await page.locator('body[data-state="ready"], body[data-state="empty"]').waitFor(WAIT);
  return (await page.locator('body').getAttribute('data-task-id')) ?? '';
}

/** Presses a shortcut that answers the task, and waits until another task (or the empty state) shows. */
async function answer(page: Page, key: string) {
  const before = await settled(page);
  await page.keyboard.press(key);
  await page.locator(`body:not([data-task-id="${before}"])`).waitFor(WAIT);
  return settled(page);
}

async function annotatorPage(name: string, project = 'demo', errors: string[] = []) {
  const ctx = await browser!.newContext({ viewport: { width: 1100, height: 820 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await login(page, tokens[name], '/annotate');
  if (project !== 'demo') await page.goto(srv.url + '/annotate?project=' + project);
  await settled(page);
  return page;
}

const rowsOf = async (name: string, project = 'demo') => {
  const p = await srv.store.getProject(project);
  return (await srv.store.annotations(p!.id, null)).filter((r) => r.annotator === name);
};

test(
  'annotators label pairs, rankings and ratings with the keyboard; undo; admin explorer',
  { timeout: 300_000 },
  async (t) => {
    if (browser === undefined) return t.skip('no /usr/bin/chromium');
    const errors: string[] = [];
    const ada = await annotatorPage('ada', 'demo', errors);
    const grace = await annotatorPage('grace', 'demo', errors);

    // Guidelines are rendered Markdown; untrusted text (guidelines and responses) runs nothing.
    for (const page of [ada, grace]) {
      assert.equal(await page.locator('#guidelines h5').textContent(), 'How to judge');
      assert.equal(await page.locator('#guidelines strong').textContent(), 'correct');
      assert.equal(await page.locator('#guidelines script').count(), 0);
      const sides = [await page.locator('#left').textContent(), await page.locator('#right').textContent()];
      assert.deepEqual([...sides].sort(), [XSS_A, XSS_B].sort());
      assert.equal(await page.locator('#left img, #right img, #left script, #right script').count(), 0);
      assert.equal(await page.locator('#metadata dd').first().textContent(), 'red-team');
      assert.match((await page.locator('#progress').textContent()) ?? '', /Done: 0 · left for you: 3/);
    }
    await shot(ada, 'annotate-pair.png');

    // Ada: A on the XSS pair, then the side saying Paris on the gold task; undo brings that one back.
    await ada.locator('#rationale').fill('first impression');
    await ada.keyboard.press('Escape');
    await answer(ada, 'a');
    const goldId = await settled(ada);
    const paris = ((await ada.locator('#left').textContent()) ?? '').startsWith('Paris') ? 'a' : 'b';
    await answer(ada, paris === 'a' ? 'b' : 'a'); // the wrong side first…
    await ada.keyboard.press('u'); // …undone
    await ada.locator(`body[data-task-id="${goldId}"][data-state="ready"]`).waitFor(WAIT);
    assert.match((await ada.locator('#status').textContent()) ?? '', /Undone/);
    await answer(ada, paris);
    await answer(ada, 'b');
    await ada.locator('#empty', { hasText: 'Nothing left for you' }).waitFor(WAIT);
    assert.equal(await ada.locator('#work').isHidden(), true);
    assert.match((await ada.locator('#progress').textContent()) ?? '', /Done: 3 · left for you: 0/);

    // Grace: a key pressed while her answer is saving is refused with a notice, not applied later.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    await grace.route('**/annotations', async (route) => {
      await gate;
      await route.continue();
    });
    const first = await settled(grace);
    await grace.keyboard.press('b');
    await grace.locator('body[data-state="saving"]').waitFor(WAIT);
    await grace.keyboard.press('t');
    await grace.locator('#notice', { hasText: '"t" was not applied' }).waitFor(WAIT);
    release();
    await grace.locator(`body:not([data-task-id="${first}"])[data-state="ready"]`).waitFor(WAIT);
    await grace.unroute('**/annotations');
    assert.equal((await rowsOf('grace')).length, 1); // only the "b"
    await answer(grace, 't');
    await answer(grace, 'x');
    await grace.locator('#empty').waitFor(WAIT);

    const by = { ada: await rowsOf('ada'), grace: await rowsOf('grace') };
    // The recorded side order maps keys back to a/b: the "a" key = left = (swapped ? b : a).
    const left = (swapped: boolean) => (swapped ? 'b' : 'a');
    const right = (swapped: boolean) => (swapped ? 'a' : 'b');
    assert.deepEqual(
      by.ada.map((r) => [r.extId, r.verdict]),
      [
        ['xss', left(by.ada[0].shownSwapped)],
        ['capital', 'a'],
        ['haiku', right(by.ada[2].shownSwapped)],
      ],
    );
    assert.equal(by.ada[1].verdict, 'a'); // Paris, after the undo
    assert.equal(by.ada[0].rationale, 'first impression');
    assert.deepEqual(
      by.grace.map((r) => r.verdict),
      [right(by.grace[0].shownSwapped), 'tie', 'both-bad'],
    );

    // Ranking (keys 1–3 pick the next best; the last is implied) and rating (digits per dimension).
    const multi = await annotatorPage('ada', 'multi', errors);
    assert.equal(await multi.locator('#ranking').isVisible(), true);
    const shown = await multi.locator('#rank-list .text').allTextContents();
    const best = shown.findIndex((s) => s.startsWith('Use sorted'));
    const worst = shown.findIndex((s) => s.startsWith('Lists cannot'));
    const middle = 3 - best - worst;
    await multi.keyboard.press(String(best + 1));
    await multi.keyboard.press(String(middle + 1));
    await multi.locator('#rank-order', { hasText: '>' }).waitFor(WAIT);
    await shot(multi, 'annotate-ranking.png');
    await answer(multi, 'Enter');
    assert.equal(await multi.locator('#rating').isVisible(), true);
    await multi.keyboard.press('4');
    await multi.keyboard.press('5');
    await shot(multi, 'annotate-rating.png');
    await answer(multi, 'Enter');
    const m = await rowsOf('ada', 'multi');
    assert.deepEqual(
      m.map((r) => r.answer),
      [{ ranking: [0, 2, 1] }, { ratings: { helpfulness: 4, harmlessness: 5 } }],
    );

    // A phone-sized viewport stacks the two responses.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await api(ADMIN, 'POST', '/api/projects/demo/tasks', {
      tasks: [{ id: 'phone', prompt: 'Shortest greeting?', a: 'Hi', b: 'Hello there, friend', priority: 0 }],
    });
    const pp = await phone.newPage();
    await login(pp, tokens.grace, '/annotate');
    await settled(pp);
    const leftBox = await pp.locator('#left').boundingBox();
    const rightBox = await pp.locator('#right').boundingBox();
    assert.ok(
      leftBox && rightBox && rightBox.y > leftBox.y + leftBox.height - 1,
      'responses stacked on a phone',
    );

    // The admin page: counts, agreement with caveats, and the explorer filtered to split tasks.
    const actx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const admin = await actx.newPage();
    admin.on('pageerror', (e) => errors.push(e.message));
    await login(admin, ADMIN, '/admin');
    await admin.locator('#annotators tbody tr').nth(1).waitFor(WAIT);
    const table = await admin.locator('#annotators tbody').innerText();
    assert.match(table, /ada\s+3\s+0\s+1\s+1\.000/); // ada answered the gold task correctly (after undo)
    assert.match(table, /grace\s+3\s+0\s+1\s+0\.000/);
    assert.match(await admin.locator('#caveats').innerText(), /too few/);
    await admin.locator('#explore tbody tr').first().waitFor(WAIT);
    await admin.selectOption('#f-agreement', 'split');
    await admin.locator('#explore-form button[type="submit"]').click();
    await admin.locator('#explore-count', { hasText: /of \d+$/ }).waitFor(WAIT);
    const ids = await admin.locator('#explore tbody th').allTextContents();
    const split = (await api(ADMIN, 'GET', '/api/projects/demo/explore?agreement=split')).tasks as {
      id: string;
    }[];
    assert.deepEqual(
      ids,
      split.map((x) => x.id),
    );
    assert.ok(ids.length > 0);
    await admin.locator('#explore').scrollIntoViewIfNeeded();
    await shot(admin, 'annotate-explorer.png');
    await admin.evaluate('window.scrollTo(0, 0)');
    await admin.locator('#plot').evaluate((img) => (img as unknown as { decode(): Promise<void> }).decode());
    await shot(admin, 'annotate-admin.png', true);
    for (const page of [ada, grace, multi]) assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.deepEqual(errors, []);
  },
);
