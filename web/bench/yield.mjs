// How long one yield to the browser's event loop takes in headless Chromium: a chained
// `setTimeout(0)` (clamped after a few nestings) beside a message the page posts to itself
// through a `MessageChannel` (what `task::yield_now` in app/src/task.rs does), side by side in
// one page. Run: `cd web && npm ci && npm run bench:yield`.
import { launch } from "../tests/browser.mjs";

const YIELDS = 200;
const browser = await launch();
try {
  const page = await browser.context.newPage();
  await page.goto("data:text/html,<title>yield</title>");
  const perYield = await page.evaluate(async (n) => {
    const timed = async (yieldOnce) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) await yieldOnce();
      return (performance.now() - start) / n;
    };
    const timeout = await timed(() => new Promise((resolve) => setTimeout(resolve, 0)));
    const channel = new MessageChannel();
    const waiting = [];
    channel.port1.onmessage = () => waiting.shift()();
    const message = await timed(
      () =>
        new Promise((resolve) => {
          waiting.push(resolve);
          channel.port2.postMessage(null);
        }),
    );
    return { timeout, message };
  }, YIELDS);
  console.log(
    `${YIELDS} chained yields: setTimeout(0) ${perYield.timeout.toFixed(3)} ms each, ` +
      `MessageChannel ${perYield.message.toFixed(3)} ms each ` +
      `(${(perYield.timeout / perYield.message).toFixed(0)}x)`,
  );
} finally {
  await browser.close();
}
