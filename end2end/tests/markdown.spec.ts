// Issue 8's chat view: assistant markdown (a table, highlighted code with a working copy
// button, safe links, markup shown as text) rendered the same by SSR and hydration, and
// tool cards with a coloured Edit diff and long output behind "Show all". The demo agent's
// `/markdown` and `/edit` prompts produce them.
import { test, expect, Page } from '@playwright/test';
import { assistantMessages, newSession, openApp, url } from './helpers';

/** The `/markdown` reply, once it has streamed in full. */
async function markdownReply(page: Page) {
  const reply = assistantMessages(page).filter({ has: page.locator('.markdown') }).last();
  await expect(reply.locator('blockquote')).toHaveText('Markup in agent text stays text.');
  await expect(reply).not.toHaveClass(/streaming/);
  return reply;
}

async function checkRendering(page: Page) {
  const reply = await markdownReply(page);
  const root = reply.locator('.markdown.assistant-text');
  await expect(root).toHaveCount(1);
  await expect(reply).toHaveAttribute('data-role', 'assistant');
  await expect(root.locator('h2')).toHaveText('Markdown demo');
  await expect(root.locator('h3')).toHaveText('Steps');
  await expect(root.locator('p code').first()).toHaveText('inline code');
  await expect(root.locator('strong').first()).toHaveText('bold');
  await expect(root.locator('del')).toHaveText('struck');
  await expect(root.locator('ul > li')).toHaveCount(2);
  await expect(root.locator('ul ol > li')).toHaveText(['never as HTML', 'links open in a new tab']);

  const table = root.locator('table');
  await expect(table).toHaveCount(1);
  await expect(table.locator('thead th')).toHaveText(['Language', 'Highlighter', 'Lines']);
  await expect(table.locator('tbody tr')).toHaveCount(2);
  await expect(table.locator('tbody tr').first().locator('td')).toHaveText(['Rust', 'built in', '42']);
  await expect(table.locator('tbody tr').nth(1).locator('td')).toHaveText(['Python', 'built in', '7']);
  await expect(table.locator('tbody td').nth(2)).toHaveCSS('text-align', 'right');

  const code = root.locator('.code-block[data-lang="rust"]');
  await expect(code).toHaveCount(1);
  await expect(code.locator('.code-lang')).toHaveText('rust');
  const keywords = await code.locator('.hl-keyword').allTextContents();
  expect(keywords).toEqual(expect.arrayContaining(['fn', 'let']));
  await expect(code.locator('.hl-comment')).toHaveText(['/// Adds two numbers.', '// no overflow check']);
  await expect(code.locator('pre')).toContainText('fn add(a: i32, b: i32) -> i32 {');

  // Issue 18: a link to another host is no `<a href>` (Chromium would resolve its host
  // before any click); it is a button that names its target and asks before opening
  // (invisible.spec.ts opens it).
  const link = root.getByTestId('external-link');
  await expect(link).toHaveText('the CommonMark spec');
  await expect(link).toHaveAttribute('title', /https:\/\/spec\.commonmark\.org\//);
  await expect(root.locator('a[href]')).toHaveCount(0);

  // The script line is text: visible, never an element, never run.
  await expect(root).toContainText('<script>window.__pwned=1</script>');
  await expect(reply.locator('script')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  return code;
}

test('assistant markdown: table, highlighted code, copy button, safe link, script as text', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url() });
  const errors = await openApp(page);
  await newSession(page, '/markdown');
  const code = await checkRendering(page);

  await code.getByTestId('copy-code').click();
  await expect(code.getByTestId('copy-code')).toHaveText('Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(
    '/// Adds two numbers.\nfn add(a: i32, b: i32) -> i32 {\n    let sum = a + b; // no overflow check\n    sum\n}',
  );
  await expect(code.getByTestId('copy-code')).toHaveText('Copy', { timeout: 5_000 });

  // The server renders the same markdown, and hydration takes it over without a mismatch:
  // after a reload the structure is the same and the copy button works.
  await page.reload();
  await expect(page.getByTestId('new-session-button')).toBeVisible();
  const again = await checkRendering(page);
  await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
  await again.getByTestId('copy-code').click();
  await expect(again.getByTestId('copy-code')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('fn add(');
  expect(errors).toEqual([]);
});

test('the copy button works without navigator.clipboard (plain http on a LAN address)', async ({ page }) => {
  // What an insecure context looks like to the page; the copy event shows what was copied.
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });
    document.addEventListener('copy', () => {
      (window as unknown as { __copied?: string }).__copied = document.getSelection()?.toString()
        || (document.activeElement as HTMLTextAreaElement | null)?.value;
    });
  });
  const errors = await openApp(page);
  await newSession(page, '/markdown');
  const code = await checkRendering(page);
  expect(await page.evaluate(() => navigator.clipboard)).toBeUndefined();
  await code.getByTestId('copy-code').click();
  await expect(code.getByTestId('copy-code')).toHaveText('Copied');
  const copied = await page.evaluate(() => (window as unknown as { __copied?: string }).__copied);
  expect(copied).toContain('fn add(a: i32, b: i32) -> i32 {');
  // The hidden field is gone again.
  await expect(page.locator('.clipboard-scratch')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('tool cards: an Edit shows a coloured diff, a long output shows its start until Show all', async ({ page }) => {
  const errors = await openApp(page);
  await newSession(page, '/edit');
  await expect(assistantMessages(page).last()).toContainText('all 58 tests pass');

  const edit = page.locator('[data-testid="tool-call"][data-kind="edit"]');
  await expect(edit).toHaveAttribute('data-status', 'ok');
  await expect(edit.locator('.tool-name')).toHaveText('Edit');
  await expect(edit.locator('.tool-path')).toContainText('lib.rs');
  const diff = edit.getByTestId('tool-diff');
  const removed = diff.locator('.diff-line.removed');
  const added = diff.locator('.diff-line.added');
  await expect(removed).toHaveCount(2);
  await expect(added).toHaveCount(3);
  await expect(removed.first()).toContainText('pub fn last_index(items: &[u32]) -> usize {');
  await expect(added.nth(1)).toContainText('-> Option<usize> {');
  await expect(diff.locator('.diff-line.context')).toHaveText([/^\s*}$/]);
  const background = (locator: typeof added) =>
    locator.first().evaluate((el) => getComputedStyle(el).backgroundColor);
  const [addedBg, removedBg] = [await background(added), await background(removed)];
  expect(addedBg).not.toBe('rgba(0, 0, 0, 0)');
  expect(removedBg).not.toBe('rgba(0, 0, 0, 0)');
  expect(addedBg).not.toBe(removedBg);

  const bash = page.locator('[data-testid="tool-call"][data-kind="bash"]');
  await expect(bash).toHaveAttribute('data-status', 'ok');
  await expect(bash.getByTestId('tool-command')).toContainText('cargo test');
  // 60 lines: folded, and cut at 30 lines until "Show all".
  await bash.locator('.tool-output summary').click();
  const output = bash.locator('.tool-output pre');
  await expect(output).toContainText('case_30 ... ok');
  await expect(output).not.toContainText('case_31');
  const showAll = bash.getByTestId('show-all');
  await expect(showAll).toHaveText('Show all 60 lines');
  await showAll.click();
  await expect(output).toContainText('case_58 ... ok');
  await expect(output).toContainText('test result: ok. 58 passed');
  await showAll.click();
  await expect(output).not.toContainText('case_58');
  expect(errors).toEqual([]);
});
