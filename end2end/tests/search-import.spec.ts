// Issue 19 in the browser: the Import page imports the Claude Code and Codex transcripts that
// global-setup.ts put in the server's stores (progress, a report, statuses after a re-scan,
// an imported session's transcript and mark); Ctrl+Shift+F searches every transcript as the
// user types; a hit 5,000 entries back in a seeded session opens there, highlighted; a query
// the server cannot read says why.
import { test, expect, Page } from '@playwright/test';
import { ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { newSession, openApp, sessionItem, startOwnServer, stopOwnServer } from './helpers';

/** The transcript files global-setup.ts copied into the stores, by CLI. */
function fixtureFiles(): { claude: string[]; codex: string[] } {
  const source = resolve(__dirname, '..', '..', 'tests', 'fixtures', 'import');
  const walk = (dir: string): string[] =>
    !existsSync(dir)
      ? []
      : readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) return walk(path);
          return name.endsWith('.jsonl') ? [basename(path)] : [];
        });
  return {
    claude: walk(join(source, 'claude', 'projects')),
    codex: walk(join(source, 'codex', 'sessions')),
  };
}

const candidate = (page: Page, source: string, file: string) =>
  page.locator(`[data-testid="import-candidate"][data-source="${source}"][data-path$="/${file}"]`);

test('the Import page imports Claude Code and Codex sessions with progress and a report', async ({ page }) => {
  const files = fixtureFiles();
  expect(files.claude.length).toBeGreaterThan(0);
  expect(files.codex.length).toBeGreaterThan(0);
  // Every progress frame the server pushes, and whether the progress box ever showed (a
  // small import may finish between two paints).
  const progress: any[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (frame) => {
      const text = String(frame.payload);
      if (text.includes('"import_progress"')) progress.push(JSON.parse(text).progress);
    }),
  );
  await page.addInitScript(() => {
    (window as any).__progressShown = false;
    new MutationObserver(() => {
      if (document.querySelector('[data-testid="import-progress"]')) (window as any).__progressShown = true;
    }).observe(document, { childList: true, subtree: true });
  });
  const errors = await openApp(page);
  await page.getByTestId('import-link').click();
  await expect(page).toHaveURL(/\/import$/);
  await expect(page.getByTestId('import-page')).toBeVisible();

  const claude = candidate(page, 'claude', files.claude[0]);
  const codex = candidate(page, 'codex', files.codex[0]);
  await expect(claude).toHaveAttribute('data-imported', 'false');
  await expect(codex).toHaveAttribute('data-imported', 'false');
  // Each shows where it ran, its first prompt, when and how big.
  await expect(claude.locator('.import-folder')).not.toBeEmpty();
  await expect(claude.locator('.import-size')).toContainText('B');
  const claudePrompt = ((await claude.locator('.import-prompt').textContent()) ?? '').trim();

  const start = page.getByTestId('import-start');
  await expect(start).toBeDisabled();
  await claude.getByTestId('import-check').check();
  await codex.getByTestId('import-check').check();
  await expect(start).toBeEnabled();
  await expect(start).toHaveText('Import 2 sessions');
  await start.click();

  const report = page.getByTestId('import-report');
  await expect(report).toBeVisible({ timeout: 30_000 });
  // It ran with progress: the server's frames counted up and the page showed them.
  expect(progress.some((p) => p.running)).toBe(true);
  const last = progress[progress.length - 1];
  expect(last.running).toBe(false);
  expect(last.files_done).toBe(2);
  expect(last.files_total).toBe(2);
  expect(await page.evaluate(() => (window as any).__progressShown)).toBe(true);
  await expect(report).toHaveAttribute('data-cancelled', 'false');
  await expect(report).toContainText('unchanged');

  // The page scanned again: both are imported now, and nothing is left to tick.
  await expect(report).toHaveAttribute('data-sessions', '2');
  await expect(claude).toHaveAttribute('data-imported', 'true');
  await expect(codex).toHaveAttribute('data-imported', 'true');
  await expect(claude.getByTestId('import-check')).toBeDisabled();

  // The imported Claude session opens with its transcript and the imported mark.
  await claude.locator('a.import-status').click();
  await expect(page).toHaveURL(/\/s\/[0-9a-f-]{36}$/);
  const id = page.url().split('/s/')[1];
  const badge = page.locator('.session-header').getByTestId('imported-badge');
  await expect(badge).toHaveAttribute('title', 'Imported from Claude Code');
  await expect(sessionItem(page, id).getByTestId('imported-badge')).toBeVisible();
  await expect(page.getByTestId('message-list')).toContainText(claudePrompt.slice(0, 20));
  expect(errors).toEqual([]);
});

test('Ctrl+Shift+F finds a phrase typed a moment ago and opens it highlighted', async ({ page }) => {
  const errors = await openApp(page);
  const phrase = `quartz heron ${Date.now()}`;
  const id = await newSession(page, `please remember ${phrase} for later`);
  await expect(page.getByTestId('message-list')).toContainText(`Echo: please remember ${phrase}`);

  await page.getByTestId('chat-input').press('Control+Shift+F');
  await expect(page).toHaveURL(/\/search$/);
  const input = page.getByTestId('search-all-input');
  await expect(input).toBeFocused();
  await input.pressSequentially(`"${phrase}"`, { delay: 20 });
  const hit = page.locator(`[data-testid="search-result"][data-session-id="${id}"]`).first();
  await expect(hit).toBeVisible();
  await expect(hit.locator('mark').first()).toContainText('quartz');
  await hit.click();
  await expect(page).toHaveURL(new RegExp(`/s/${id}$`));
  await expect(page.getByTestId('entry-highlight')).toContainText(phrase);

  // The sidebar's box offers the same search over every transcript.
  await page.keyboard.press('Control+k');
  await page.getByTestId('session-search').fill('heron');
  const offer = page.getByTestId('search-all-link');
  await expect(offer).toHaveText('Search all sessions for “heron”');
  await offer.click();
  await expect(page).toHaveURL(/\/search\?q=heron$/);
  await expect(page.getByTestId('search-all-input')).toHaveValue('heron');
  await expect(page.locator(`[data-testid="search-result"][data-session-id="${id}"]`).first()).toBeVisible();
  expect(errors).toEqual([]);
});

test('hits in an ended session show as such and do not open', async ({ page }) => {
  const errors = await openApp(page);
  const phrase = `ended osprey ${Date.now()}`;
  const id = await newSession(page, phrase);
  await expect(page.getByTestId('message-list')).toContainText(`Echo: ${phrase}`);
  await page.getByTestId('end-session').click();
  await page.getByTestId('confirm-yes').click();
  await expect(sessionItem(page, id)).toHaveCount(0);

  await page.keyboard.press('Control+Shift+F');
  await page.getByTestId('search-all-input').fill(`"${phrase}"`);
  const hit = page.locator(`[data-testid="search-result"][data-session-id="${id}"]`).first();
  await expect(hit).toBeVisible();
  await expect(hit).toHaveAttribute('aria-disabled', 'true');
  await expect(
    page.locator(`[data-testid="search-group"][data-session-id="${id}"]`).getByTestId('search-archived'),
  ).toContainText('cannot be opened');
  await hit.click();
  await expect(page).toHaveURL(/\/search$/);
  expect(errors).toEqual([]);
});

test('a query the server cannot read says why', async ({ page }) => {
  const errors = await openApp(page);
  await page.keyboard.press('Control+Shift+F');
  await page.getByTestId('search-all-input').fill('"an unclosed quote');
  await expect(page.getByTestId('search-error')).toBeVisible();
  await expect(page.getByTestId('search-error')).not.toBeEmpty();
  // Mended, it searches again; nothing matches, and the page says so.
  await page.getByTestId('search-all-input').fill('"an unclosed quote" zzqxj');
  await expect(page.getByTestId('search-error')).toHaveCount(0);
  await expect(page.getByTestId('search-empty')).toBeVisible();
  expect(errors).toEqual([]);
});

test.describe('a long seeded session', () => {
  let server: ChildProcess;
  let base: string;
  let longId: string;
  let dataDir: string;

  test.beforeAll(async () => {
    const bin = process.env.SWITCHBOARD_BIN!;
    dataDir = mkdtempSync(join(tmpdir(), 'switchboard-search-e2e-'));
    longId = execFileSync(bin, [
      'seed-transcript',
      '--data-dir',
      dataDir,
      '--entries',
      '10000',
      '--title',
      'Long searchable session',
    ])
      .toString()
      .trim();
    ({ child: server, base } = await startOwnServer(dataDir));
  });

  test.afterAll(() => stopOwnServer(server, dataDir));

  test('a hit 5,000 entries back opens there, highlighted', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
    await page.goto(base);
    await expect(page.getByTestId('new-session-button')).toBeVisible();
    await page.keyboard.press('Control+Shift+F');
    // Turn 1250 of 2500: about 5,000 entries before the newest.
    await page.getByTestId('search-all-input').fill('"Question 1250: what"');
    const hit = page.locator(`[data-testid="search-result"][data-session-id="${longId}"]`).first();
    await expect(hit).toBeVisible();
    const seq = Number(await hit.getAttribute('data-seq'));
    expect(seq).toBeGreaterThan(0);
    await hit.click();
    await expect(page).toHaveURL(new RegExp(`/s/${longId}$`));
    const marked = page.getByTestId('entry-highlight');
    await expect(marked).toContainText('Question 1250:', { timeout: 20_000 });
    await expect(marked).toBeInViewport();
    // The turns up to the hit came in one request from its seq, not page by page.
    expect(sent.some((f) => f.includes('"load_earlier"') && f.includes(`"from":${seq}`))).toBe(true);
    // The DOM still holds a bounded window of rows.
    expect(await page.locator('[data-testid="message-list"] [data-testid="message"]').count()).toBeLessThanOrEqual(160);
    expect(errors).toEqual([]);
  });
});
