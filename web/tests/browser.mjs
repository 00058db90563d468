// Serving web/dist on 127.0.0.1 and driving Debian's Chromium (WebGPU on its bundled SwiftShader,
// no GPU needed) with playwright-core. Never `npx playwright install`: it downloads a browser.
import { createServer } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
};

/** Serves `root` on 127.0.0.1 at a free port; resolves to { url, close }. */
export async function serve(root) {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end(`${path}: not found`);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** The flags under which headless Chromium runs WebGPU on SwiftShader (../shared/README.md). */
const FLAGS = [
  "--headless", "--no-sandbox", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-quic", "--enable-unsafe-webgpu",
  "--enable-features=Vulkan", "--use-angle=swiftshader", "--use-vulkan=swiftshader",
  "--enable-unsafe-swiftshader",
];

/** Launches Chromium with a fresh profile; resolves to { context, close }. */
export async function launch() {
  const profile = await mkdtemp(join(tmpdir(), "stepwise-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.STEPWISE_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Opens `url` in a new page, recording console errors and uncaught exceptions in `errors`. */
export async function open(context, url, { beforeLoad } = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
  if (beforeLoad) await page.addInitScript(beforeLoad);
  await page.goto(url);
  return { page, errors };
}

/** The app's status (see `WebHandle::status`), once `condition(status)` holds; on timeout the
 * error shows the last status. */
export async function statusWhen(page, condition, timeout) {
  try {
    const handle = await page.waitForFunction(
      (source) => {
        const stepwise = window.stepwise;
        if (!stepwise?.status) return false;
        const status = JSON.parse(stepwise.status());
        return new Function("status", `return (${source})(status)`)(status) ? status : false;
      },
      condition.toString(),
      { timeout, polling: 250 },
    );
    return await handle.jsonValue();
  } catch (error) {
    const last = await page.evaluate(() => window.stepwise?.status?.()).catch(() => undefined);
    throw new Error(`${error.message}\nwaiting for ${condition}\nlast status: ${last}`);
  }
}

/** The settings the page's URL carries (the app's persisted state as JSON). */
export async function linkedSettings(page) {
  const hash = await page.evaluate(() => location.hash);
  return JSON.parse(decodeURIComponent(hash.slice(1)));
}
