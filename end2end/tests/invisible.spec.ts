// Issue 18, the browser's half: agent output cannot act before the user does.
// - Characters a page does not show (bidi overrides, zero-width, terminal escapes) are drawn
//   as marks in code blocks and tool cards, and Copy leaves them out (demo `/invisible`).
// - A link to another host is not an `<a href>` (Chromium resolves the host of every link on
//   a plain-http page before any click); a click shows the full target, Open opens it
//   without opener or referrer (demo `/markdown`).
import { test, expect, Page } from '@playwright/test';
import { assistantMessages, newSession, openApp as open, sessionItem, url } from './helpers';

/** Opens the app and waits until it has hydrated: as the first spec of a run on a cold
 * browser the WASM can take seconds, and a click on + before it is lost. The pane's warm-up
 * runs right after hydration on the start page and marks the root when done. */
async function openApp(page: Page): Promise<string[]> {
  const errors = await open(page);
  await expect(page.locator('html')).toHaveAttribute('data-pane-warm', /done|failed/);
  return errors;
}

test('hidden characters show as marks in code and tool output, and Copy leaves them out', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url() });
  const errors = await openApp(page);
  const id = await newSession(page, '/invisible');
  const reply = assistantMessages(page).filter({ has: page.locator('.code-block') }).last();
  await expect(reply).toContainText('Copy leaves them out.');
  await expect(reply).not.toHaveClass(/streaming/);

  const code = reply.locator('.code-block[data-lang="sh"]');
  const marks = code.getByTestId('hidden-char');
  await expect(marks).toHaveText(['⟨U+202E⟩', '⟨U+200B⟩', '⟨ESC⟩[2K']);
  for (const mark of await marks.all()) await expect(mark).toBeVisible();
  await expect(marks.first()).toHaveAttribute('title', /RIGHT-TO-LEFT OVERRIDE.*Left out when you copy/);
  await expect(code.locator('pre')).toHaveText('ls⟨U+202E⟩⟨U+200B⟩⟨ESC⟩[2K -la');
  await expect(code.getByTestId('code-hidden')).toHaveText('3 hidden');

  // The tool card shows them too: in the command and in the output.
  const tool = page.locator('[data-testid="tool-call"][data-kind="bash"]');
  await expect(tool.getByTestId('tool-command').getByTestId('hidden-char')).toHaveText(['⟨U+202E⟩', '⟨U+200B⟩', '⟨ESC⟩[2K']);
  await expect(tool.locator('.tool-output pre').getByTestId('hidden-char')).toHaveText(['⟨ESC⟩[34m', '⟨ESC⟩[0m', '⟨U+2066⟩']);
  await expect(tool.locator('.tool-output pre')).toContainText('notes.txt');

  // The sidebar's one-line preview of the reply leaves them out.
  await expect(sessionItem(page, id).locator('.session-preview')).toContainText('ls -la');
  // None of the hidden characters is in the page at all: only their marks.
  const raw = await page.locator('main, aside').evaluateAll((els) => els.map((el) => el.textContent).join(''));
  expect(raw).toContain('ls');
  expect(raw).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff\u001b]/);

  await page.evaluate(() => navigator.clipboard.writeText('nothing yet'));
  await code.getByTestId('copy-code').click();
  await expect(code.getByTestId('copy-code')).toHaveText('Copied without 3 hidden');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('ls -la');
  await expect(code.getByTestId('copy-code')).toHaveText('Copy', { timeout: 5_000 });
  expect(errors).toEqual([]);
});

test('a link to another host is no href until clicked, shows its target, and opens without opener', async ({ page, context }) => {
  const errors = await openApp(page);
  await newSession(page, '/markdown');
  // The target is answered here: the test machine has no network.
  await context.route('https://spec.commonmark.org/**', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<title>spec</title>spec' }),
  );
  const reply = assistantMessages(page).filter({ has: page.locator('.markdown blockquote') }).last();
  await expect(reply.locator('blockquote')).toHaveText('Markup in agent text stays text.');

  // No anchor in the transcript names another host.
  await expect(page.getByTestId('message-list').locator('a[href*="//"]')).toHaveCount(0);
  const link = reply.getByTestId('external-link');
  await expect(link).toHaveText('the CommonMark spec');

  // A click asks, naming the full target; Cancel opens nothing.
  await link.click();
  const dialog = page.getByTestId('confirm-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.locator('h2')).toHaveText('Open a link to spec.commonmark.org?');
  await expect(dialog.getByTestId('link-target')).toHaveText('https://spec.commonmark.org/');
  await dialog.getByTestId('confirm-cancel').click();
  await expect(dialog).toHaveCount(0);
  expect(context.pages()).toHaveLength(1);

  // Open: a new tab at the target that cannot reach back to the app.
  await link.click();
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    page.getByTestId('confirm-dialog').getByTestId('confirm-yes').click(),
  ]);
  await popup.waitForLoadState();
  expect(popup.url()).toBe('https://spec.commonmark.org/');
  expect(await popup.evaluate(() => window.opener)).toBeNull();
  expect(await popup.evaluate(() => document.referrer)).toBe('');
  await expect(page.getByTestId('confirm-dialog')).toHaveCount(0);
  await popup.close();
  expect(errors).toEqual([]);
});
