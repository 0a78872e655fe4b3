// The split WASM (issue 22): every route's pane lives in a module fetched on demand, and a
// page opened cold at any route must still hydrate the server's markup, with no console
// error; a page opened at `/` fetches the session pane once it is live, and only then; a
// session page goes live with the shell's module alone and builds its pane when the pane's
// module is in, keeping what was typed meanwhile.
import { test, expect, Page } from '@playwright/test';
import { newSession, openApp, sessionItem, url, watchErrors } from './helpers';

test('every route hydrates when opened cold, a tool page with its module preloaded', async ({ page }) => {
  await openApp(page);
  const id = await newSession(page, 'hello split');
  await expect(page.getByTestId('message-list')).toContainText('Echo: hello split');

  for (const path of [`/s/${id}`, '/doctor', '/usage', '/settings', '/search', '/import', '/']) {
    // A fresh page of the logged-in context: nothing in memory, modules from the network.
    const fresh = await page.context().newPage();
    const errors = watchErrors(fresh);
    const wasm: string[] = [];
    fresh.on('request', (request) => {
      if (request.url().endsWith('.wasm')) wasm.push(new URL(request.url()).pathname);
    });
    await fresh.goto(`${url()}${path}`);
    await expect(fresh.locator('body'), path).toHaveAttribute('data-hydrated', 'true');
    await expect(fresh.locator('body'), path).toHaveAttribute('data-live-at', /\d+/);
    const preloads = await fresh.locator('link[rel="preload"][as="fetch"]').evaluateAll(
      (links) => links.map((link) => new URL((link as HTMLLinkElement).href).pathname));
    if (path === '/') {
      // Only the main module before live; the pane's modules come right after.
      expect(preloads, path).toHaveLength(1);
      await expect(fresh.locator('html')).toHaveAttribute('data-pane-warm', 'done');
      expect(wasm.length, 'the session pane fetched after live').toBeGreaterThan(1);
    } else if (path.startsWith('/s/')) {
      // The pane's modules are fetched once the main one is in, not beside it.
      expect(preloads, path).toHaveLength(1);
      await expect(fresh.locator('body'), path).toHaveAttribute('data-pane-at', /\d+/);
      await expect(fresh.getByTestId('message-list')).toContainText('Echo: hello split');
      expect(wasm.length, 'the session pane fetched').toBeGreaterThan(1);
    } else {
      expect(preloads.length, `${path}: main module and its pane's`).toBeGreaterThan(1);
      for (const module of preloads) expect(wasm, `${path} fetched ${module}`).toContain(module);
    }
    expect(errors, path).toEqual([]);
    await fresh.close();
  }
});

test('a tool page not fetched yet opens on a click, and works', async ({ page }) => {
  const errors = await openApp(page);
  const fetched: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('split_tool_page')) fetched.push(request.url());
  });
  await page.getByTestId('search-all-link').click();
  await expect(page).toHaveURL(/\/search$/);
  await expect(page.getByTestId('search-all-input')).toBeFocused();
  expect(fetched).toHaveLength(1);
  await page.getByTestId('search-all-input').fill('nothing matches this');
  await expect(page.getByTestId('search-all-input')).toHaveValue('nothing matches this');
  expect(errors).toEqual([]);
});

test('the Add project form is not in the first load: fetched once the page is live, it opens on a click', async ({ page }) => {
  const fetched: { at: number; url: string }[] = [];
  page.on('request', (request) => {
    if (request.url().includes('split_sidebar_extra')) fetched.push({ at: Date.now(), url: request.url() });
  });
  const errors = await openApp(page);
  const liveAt = Number(await page.locator('body').getAttribute('data-live-at'));
  await expect.poll(() => fetched.length, 'its module is fetched after live').toBe(1);
  expect(fetched[0].at).toBeGreaterThanOrEqual(liveAt);
  const preloads = await page.locator('link[rel="preload"][as="fetch"]').evaluateAll(
    (links) => links.map((link) => (link as HTMLLinkElement).href));
  expect(preloads.filter((href) => href.includes('sidebar_extra'))).toEqual([]);
  await page.getByTestId('project-add-button').click();
  await expect(page.getByTestId('project-path-input')).toBeFocused();
  expect(errors).toEqual([]);
});

test('the panes\' stylesheet is not in the first load of /: fetched once the page has hydrated; a session page links it', async ({ page }) => {
  const fetched: { at: number; url: string }[] = [];
  let mainModuleIn = 0;
  page.on('request', (request) => {
    if (/switchboard-panes\..*\.css$/.test(request.url())) fetched.push({ at: Date.now(), url: request.url() });
  });
  page.on('requestfinished', (request) => {
    if (/\/pkg\/switchboard\.[^/]*\.wasm$/.test(request.url())) mainModuleIn = Date.now();
  });
  const errors = await openApp(page);
  await expect.poll(() => fetched.length, 'fetched after hydration').toBe(1);
  expect(mainModuleIn, 'the main module came first').toBeGreaterThan(0);
  expect(fetched[0].at).toBeGreaterThanOrEqual(mainModuleIn);
  await expect(page.locator('meta[name="switchboard-pane-styles"]')).toHaveCount(0);
  // A session page, opened cold, links it up front (its pane shows at first paint).
  const id = await newSession(page, 'styled');
  await expect(page.getByTestId('message-list')).toContainText('Echo: styled');
  const fresh = await page.context().newPage();
  await fresh.goto(`${url()}/s/${id}`);
  await expect(fresh.locator('link[rel="stylesheet"][href*="switchboard-panes."]')).toHaveCount(1);
  await fresh.close();
  expect(errors).toEqual([]);
});

/** A new page of `page`'s context opened at `path` with the split modules (the session
 * pane's) held back: `release` lets them through, `fail` makes them fail, for the requests
 * made so far and later ones. Resolves once the page is live. */
async function openWithPaneHeld(page: Page, path: string) {
  const fresh = await page.context().newPage();
  const errors = watchErrors(fresh);
  let decide!: (pass: boolean) => void;
  let decided = new Promise<boolean>((resolve) => (decide = resolve));
  await fresh.route(/\/pkg\/.*split.*\.wasm$/, async (route) => {
    if (await decided) await route.continue();
    else await route.abort();
  });
  // (Not waiting for `load`: nothing of the page's needs the held modules.)
  await fresh.goto(`${url()}${path}`, { waitUntil: 'commit' });
  await expect(fresh.locator('body')).toHaveAttribute('data-live-at', /\d+/);
  // Live, while the pane is still the server's markup.
  await expect(fresh.locator('body')).not.toHaveAttribute('data-pane-at', /\d+/);
  const release = () => { decide(true); decided = Promise.resolve(true); };
  const fail = () => decide(false);
  return { fresh, errors, release, fail };
}

test('a session page is live before the code of its pane comes; a message typed meanwhile is sent once', async ({ page }) => {
  await openApp(page);
  const id = await newSession(page, 'first words');
  await expect(page.getByTestId('message-list')).toContainText('Echo: first words');

  for (const how of ['Enter', 'Send button']) {
    const { fresh, errors, release } = await openWithPaneHeld(page, `/s/${id}`);
    const input = fresh.getByTestId('chat-input');
    await input.click();
    await fresh.keyboard.type(`typed early (${how})`);
    if (how === 'Enter') await fresh.keyboard.press('Enter');
    else await fresh.getByTestId('send-button').click();
    // Held back (not a new line, not a page reload) until the pane is built.
    await expect(input).toHaveValue(`typed early (${how})`);
    release();
    await expect(fresh.locator('body')).toHaveAttribute('data-pane-at', /\d+/);
    const list = fresh.getByTestId('message-list');
    await expect(list).toContainText(`Echo: typed early (${how})`);
    await expect(input).toHaveValue('');
    await expect(list.getByText(`Echo: typed early (${how})`)).toHaveCount(1);
    expect(errors, how).toEqual([]);
    await fresh.close();
  }
});

test('another session chosen before the pane comes: no session shows under the other tab, and the typed text waits in its own', async ({ page }) => {
  await openApp(page);
  const first = await newSession(page, 'the first one');
  await expect(page.getByTestId('message-list')).toContainText('Echo: the first one');
  const second = await newSession(page, 'the second one');
  await expect(page.getByTestId('message-list')).toContainText('Echo: the second one');

  const { fresh, errors, release } = await openWithPaneHeld(page, `/s/${first}`);
  await fresh.getByTestId('chat-input').fill('kept for the first');
  // The shell is live: the sidebar switches sessions; the first one's markup goes.
  await sessionItem(fresh, second).click();
  await expect(fresh).toHaveURL(new RegExp(`/s/${second}$`));
  await expect(fresh.locator(`.pane-host [data-session-id="${first}"]`)).toHaveCount(0);
  release();
  await expect(fresh.locator('body')).toHaveAttribute('data-pane-at', /\d+/);
  await expect(fresh.getByTestId('message-list')).toContainText('Echo: the second one');
  await expect(fresh.getByTestId('chat-input')).toHaveValue('');
  await sessionItem(fresh, first).click();
  await expect(fresh.getByTestId('message-list')).toContainText('Echo: the first one');
  await expect(fresh.getByTestId('chat-input')).toHaveValue('kept for the first');
  expect(errors).toEqual([]);
  await fresh.close();
});

test("a pane whose code does not come leaves the server's pane and what was typed; 'Try again' builds it and sends", async ({ page }) => {
  await openApp(page);
  const id = await newSession(page, 'before the failure');
  await expect(page.getByTestId('message-list')).toContainText('Echo: before the failure');

  const { fresh, errors, release, fail } = await openWithPaneHeld(page, `/s/${id}`);
  const input = fresh.getByTestId('chat-input');
  await input.fill('typed before the failure');
  await input.press('Enter');
  fail();
  // After the loader's own tries (0.5 s, then 2 s): the notice, above the server's pane.
  const notice = fresh.getByTestId('load-failed');
  await expect(notice).toBeVisible({ timeout: 15_000 });
  await expect(input).toHaveValue('typed before the failure');
  release();
  await fresh.getByTestId('load-retry').click();
  await expect(notice).toHaveCount(0);
  await expect(fresh.locator('body')).toHaveAttribute('data-pane-at', /\d+/);
  await expect(fresh.getByTestId('message-list')).toContainText('Echo: typed before the failure');
  await expect(input).toHaveValue('');
  expect(errors.filter((e) => /panicked|unreachable|RuntimeError|hydration/i.test(e))).toEqual([]);
  await fresh.close();
});
