// Takes the markdown and tool-card screenshots of issue 8 (docs/markdown-*.png) from a
// running Switchboard with the demo agent:
//   node end2end/screenshot-markdown.mjs "http://127.0.0.1:3000/?token=<token>" docs/
import { chromium } from '@playwright/test';

const [url = 'http://127.0.0.1:3000', out = 'docs/'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.goto(url);
await page.getByTestId('new-session-button').click();
await page.getByTestId('chat-input').fill('/markdown');
await page.getByTestId('chat-input').press('Enter');
await page.locator('.message.assistant:not(.streaming) .markdown blockquote').waitFor();
await page.waitForTimeout(1000);
await page.getByTestId('chat-input').fill('/edit');
await page.getByTestId('chat-input').press('Enter');
await page.getByTestId('message-list').getByText('all 58 tests pass').waitFor();
await page.waitForTimeout(500);
// The code block at the top, the Edit card with its diff below it.
await page.locator('.markdown .code-block').first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
await page.waitForTimeout(300);
await page.screenshot({ path: `${out}markdown-desktop.png` });
await page.setViewportSize({ width: 390, height: 844 });
await page.waitForTimeout(300);
await page.locator('.markdown h3').first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
await page.waitForTimeout(300);
await page.screenshot({ path: `${out}markdown-phone.png` });
await browser.close();
