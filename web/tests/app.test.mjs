// The browser build, end to end, in headless Chromium on SwiftShader's WebGPU. Build first:
// web/build.sh. Workloads are tiny: SwiftShader runs shaders on the CPU, slowly.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { launch, linkedSettings, open, serve, statusWhen } from "./browser.mjs";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const MINUTE = 60_000;

let server;
let browser;

before(async () => {
  assert.ok(existsSync(join(dist, "stepwise_app_bg.wasm")), `no build in ${dist}: run web/build.sh`);
  server = await serve(dist);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A link to the app showing `settings` (any part of the app's persisted state). */
const link = (settings) => `${server.url}#${encodeURIComponent(JSON.stringify(settings))}`;

/** Runs in the page before its scripts: the browser then has no WebGPU. */
const hideWebGpu = () => Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined });

test("the teaching view's trajectories on WebGPU equal the CPU reference", async (t) => {
  const { page, errors } = await open(browser.context, link({ view: "Teaching" }));
  t.after(() => page.close());
  const started = await statusWhen(page, (s) => s.running, 2 * MINUTE);
  assert.equal(started.view, "Teaching", "the link chose the view");
  assert.ok(started.adapter, `a WebGPU adapter is used (notice: ${started.notice})`);
  assert.equal(started.adapter.backend, "browserwebgpu");
  assert.equal(started.adapter.name, "the browser's WebGPU adapter");

  assert.equal(await page.evaluate(() => window.stepwise.check_on_gpu()), true);
  const status = await statusWhen(page, (s) => s.gpu_check.state !== "running", 4 * MINUTE);
  const check = status.gpu_check;
  assert.equal(check.state, "done", JSON.stringify(check));

  // The default scenario: Adam, RAdam and SGD for 40 steps from the saddle's classic start.
  assert.equal(check.racers.length, 3);
  for (const racer of check.racers) {
    assert.equal(racer.cpu.length, 41, `${racer.label}: start and 40 steps`);
    assert.equal(racer.gpu.length, racer.cpu.length, racer.label);
    const [first, last] = [racer.cpu[0], racer.cpu.at(-1)];
    assert.ok(Math.hypot(last[0] - first[0], last[1] - first[1]) > 0.01, `${racer.label} moved`);
    racer.cpu.forEach((expected, step) => {
      expected.forEach((value, i) => {
        const got = racer.gpu[step][i];
        const difference = Math.abs(got - value) / Math.max(Math.abs(value), 1);
        assert.ok(
          difference <= 1e-4,
          `${racer.label} step ${step} [${i}]: GPU ${got}, CPU ${value}`,
        );
      });
    });
  }
  assert.ok(check.max_difference <= 1e-4, `reported ${check.max_difference}`);
  assert.deepEqual(errors, []);
});

test("the hyperparameter map on WebGPU equals the one the page computes on the CPU", async (t) => {
  const losses = {};
  for (const [device, beforeLoad] of [["GPU", undefined], ["CPU", hideWebGpu]]) {
    const { page, errors } = await open(browser.context, link({ view: "Teaching" }), { beforeLoad });
    t.after(() => page.close());
    const started = await statusWhen(page, (s) => s.running, 2 * MINUTE);
    assert.equal(started.adapter !== null, device === "GPU", `${device}: ${started.notice}`);
    assert.equal(await page.evaluate(() => window.stepwise.start_map("hyperparameter")), true);
    const status = await statusWhen(
      page,
      (s) => !["idle", "running"].includes(s.teaching.hyper_map.state),
      4 * MINUTE,
    );
    const map = status.teaching.hyper_map;
    assert.equal(map.state, "done", JSON.stringify(map));
    assert.equal(map.cells, 40 * 40);
    assert.match(map.note, new RegExp(`40×40 settings × 40 steps on the ${device}`));
    losses[device] = await page.evaluate(() => Array.from(window.stepwise.map_losses("hyperparameter")));
    assert.deepEqual(errors, [], device);
  }
  // Every cell (its own learning rate and beta1, all stepped in one dispatch on the GPU) against
  // the same cell traced on the CPU: the same cells diverge, the rest agree to rounding.
  assert.equal(losses.GPU.length, losses.CPU.length);
  const finite = losses.CPU.filter(Number.isFinite).length;
  assert.ok(finite > 1000, `${finite} cells stay finite`);
  losses.CPU.forEach((cpu, cell) => {
    const gpu = losses.GPU[cell];
    const same = Number.isFinite(cpu)
      ? Number.isFinite(gpu) && Math.abs(gpu - cpu) <= 1e-4 * Math.max(Math.abs(cpu), 1)
      : !Number.isFinite(gpu);
    assert.ok(same, `cell ${cell}: GPU ${gpu}, CPU ${cpu}`);
  });
});

test("a training comparison runs on WebGPU, its plot updates, and the URL keeps the settings", async (t) => {
  const { page, errors } = await open(browser.context, server.url);
  t.after(() => page.close());
  await statusWhen(page, (s) => s.running, 2 * MINUTE);
  await page.waitForFunction(() => location.hash.length > 1);

  // Edit the settings through the URL, as a shared link would: a tiny comparison of two runs.
  const settings = await linkedSettings(page);
  settings.view = "Experiment";
  Object.assign(settings.experiment.config, {
    model: "resnet8",
    epochs: 1,
    batch_size: 4,
    train_images: 8,
    test_images: 4,
    seeds: [0],
  });
  settings.experiment.runs = settings.experiment.runs.slice(0, 2);
  settings.experiment.device = "gpu";
  await page.evaluate((hash) => { location.hash = hash; }, encodeURIComponent(JSON.stringify(settings)));
  const applied = await statusWhen(
    page,
    (s) => s.settings.experiment.config.batch_size === 4 && s.settings.experiment.runs.length === 2,
    MINUTE,
  );
  assert.equal(applied.settings.experiment.device, "gpu");
  await page.waitForTimeout(500);
  assert.deepEqual(await linkedSettings(page), applied.settings, "the URL carries the settings");

  assert.equal(await page.evaluate(() => window.stepwise.start_training()), true);
  const status = await statusWhen(
    page,
    (s) => s.training.message || (s.training.runs.length === 2 && s.training.runs.every((r) => r.steps >= 1 && r.plotted_points >= 1)),
    8 * MINUTE,
  );
  assert.equal(status.training.message, null, status.training.status);
  for (const run of status.training.runs) {
    assert.ok(Number.isFinite(run.last_loss) && run.last_loss > 0, `${run.name}: loss ${run.last_loss}`);
  }
  assert.match(status.training.status, /the shipped CIFAR-10 sample/);

  // Once it has ended, its results are offered as the files `stepwise compare` writes.
  await page.waitForFunction(
    () => window.stepwise.result_file("results.json") !== undefined,
    null,
    { polling: 500, timeout: 8 * MINUTE },
  );
  const file = (name) => page.evaluate((name) => window.stepwise.result_file(name), name);
  const results = JSON.parse(await file("results.json"));
  assert.equal(results.epochs_completed, 1);
  assert.equal(results.train_images, 8);
  assert.deepEqual(results.runs.map((r) => r.name), status.training.runs.map((r) => r.name));
  for (const run of results.runs) {
    assert.equal(run.epochs.length, 1, run.name);
    assert.equal(run.steps, 2, `${run.name}: 8 images in batches of 4`);
  }
  const csv = (await file("metrics.csv")).trim().split("\n");
  assert.match(csv[0], /^run,seed,kind,step,epoch,loss,lr,/);
  assert.equal(csv.filter((line) => line.split(",")[2] === "step").length, 2 * 2);
  assert.equal(csv.filter((line) => line.split(",")[2] === "epoch").length, 2);
  assert.deepEqual(results.runs.map((r) => r.seed), [0, 0]);
  assert.match(await file("config.toml"), /batch_size = 4/);
  assert.equal(await file("nothing.txt"), undefined);

  // Let a frame draw the new points, then check the page is not blank.
  await page.waitForTimeout(1000);
  const image = PNG.sync.read(await page.screenshot());
  const counts = new Map();
  for (let i = 0; i < image.data.length; i += 4) {
    const colour = image.data.readUInt32BE(i);
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  const pixels = image.width * image.height;
  const commonest = Math.max(...counts.values());
  assert.ok(counts.size >= 50, `${counts.size} colours on screen`);
  assert.ok(commonest / pixels < 0.9, `one colour covers ${(100 * commonest / pixels).toFixed(1)}%`);
  assert.deepEqual(errors, []);
});

test("without WebGPU the app says so and the teaching view still works on the CPU", async (t) => {
  const { page, errors } = await open(browser.context, link({ view: "Teaching" }), { beforeLoad: hideWebGpu });
  t.after(() => page.close());
  const status = await statusWhen(page, (s) => s.running, 2 * MINUTE);
  assert.equal(status.adapter, null);
  assert.match(status.notice, /No WebGPU/);
  assert.equal(status.view, "Teaching");
  assert.equal(status.teaching.racers.length, 3, "the racers are computed on the CPU");
  for (const racer of status.teaching.racers) {
    assert.equal(racer.steps, 40);
    assert.ok(racer.last.every(Number.isFinite), JSON.stringify(racer));
  }
  assert.equal(await page.evaluate(() => window.stepwise.check_on_gpu()), false);
  assert.deepEqual(errors, []);
});

test("a link that cannot be read is named until a good one is read, and the app starts anyway; a typo is named", async (t) => {
  const { page, errors } = await open(browser.context, `${server.url}#%7Bnot%20json`);
  t.after(() => page.close());
  const status = await statusWhen(page, (s) => s.running, 2 * MINUTE);
  assert.match(status.link_notice, /The link's settings could not be read \(.*line 1 column 2/);
  assert.equal(status.notice, null, "the device notice is another line");
  // A good link typed afterwards is applied, and the complaint about the bad one goes.
  const view = status.view === "Teaching" ? "Internals" : "Teaching";
  await page.evaluate((view) => {
    location.hash = encodeURIComponent(JSON.stringify({ view }));
  }, view);
  // (The condition runs in the page: it cannot see `view`.)
  const fixed = await (view === "Teaching"
    ? statusWhen(page, (s) => s.view === "Teaching", MINUTE)
    : statusWhen(page, (s) => s.view === "Internals", MINUTE));
  assert.equal(fixed.link_notice, null);
  // A key that is no setting (a typo) changes nothing, and is named.
  await page.evaluate(() => {
    location.hash = encodeURIComponent(JSON.stringify({ teaching: { stepz: 5 } }));
  });
  const typo = await statusWhen(page, (s) => s.link_notice !== null, MINUTE);
  assert.equal(typo.link_notice, "The link's settings were corrected: teaching.stepz is not a setting and was ignored.");
  assert.deepEqual(errors, []);
});

test("a panic is shown over the stopped app, with the way back", async (t) => {
  const { page, errors } = await open(browser.context, link({ view: "Teaching" }));
  t.after(() => page.close());
  await statusWhen(page, (s) => s.running, 2 * MINUTE);
  assert.equal(await page.locator("#crash").count(), 0, "no panic shown before one");

  // Uncaught, as a panic inside a frame is.
  await page.evaluate(() => setTimeout(() => window.stepwise.simulate_panic("a deliberate panic")));
  const crash = page.locator("#crash");
  await crash.waitFor({ timeout: 10_000 });
  const text = await crash.textContent();
  assert.match(text, /^Stepwise stopped on an internal error:\n[^]*a deliberate panic/);
  assert.match(text, /reload the page to start again/);
  const status = JSON.parse(await page.evaluate(() => window.stepwise.status()));
  assert.deepEqual(status, { running: false, panicked: true });
  assert.ok(errors.some((error) => error.includes("a deliberate panic")), errors.join("\n"));
});
