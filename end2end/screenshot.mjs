// Takes the README screenshot (and a phone-width one) of a running Switchboard:
//   node end2end/screenshot.mjs "http://127.0.0.1:3000/?token=<token>" docs/   (the login URL)
// Creates two demo sessions first, so the picture shows tabs, sidebar and a transcript.
import { chromium } from '@playwright/test';

const [url = 'http://127.0.0.1:3000', out = 'docs/'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.goto(url);
for (const text of ['Refactor the parser and keep the tests green', '/tool', '/permission']) {
  await page.getByTestId('new-session-button').click();
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-input').press('Enter');
  await page.waitForTimeout(800);
}
await page.screenshot({ path: `${out}screenshot.png` });
await page.setViewportSize({ width: 390, height: 844 });
await page.waitForTimeout(300);
await page.screenshot({ path: `${out}screenshot-phone.png` });
await browser.close();
