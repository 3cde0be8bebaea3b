#!/usr/bin/env node
// Screenshots of the panel's idle, running and done states, rendered by
// headless Chromium from harness/index.html at Premiere's docked panel size.
// Usage: node plugin/premiere/tools/screenshots.mjs [--out DIR] [--chromium PATH]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pluginDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = resolve(pluginDir, "..", "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const outDir = resolve(option("--out", join(repoDir, "docs", "screenshots")));

function findChromium() {
  const named = option("--chromium", null);
  if (named) return named;
  for (const candidate of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    const found = spawnSync("which", [candidate], { encoding: "utf-8" });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return null;
}

const chromium = findChromium();
if (!chromium) {
  console.error("No Chromium found (tried chromium, chromium-browser, google-chrome); install one or pass --chromium PATH");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const harness = pathToFileURL(join(pluginDir, "harness", "index.html")).href;
for (const state of ["idle", "running", "done"]) {
  const target = join(outDir, `premiere_${state}.png`);
  const run = spawnSync(
    chromium,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--hide-scrollbars",
      "--force-device-scale-factor=1",
      "--default-background-color=232323ff",
      `--screenshot=${target}`,
      "--window-size=360,640",
      `${harness}?state=${state}`,
    ],
    { encoding: "utf-8", timeout: 60000 },
  );
  if (run.status !== 0 || !existsSync(target) || statSync(target).size === 0) {
    console.error(`Chromium failed for ${state}:\n${run.stderr}`);
    process.exit(1);
  }
  console.log(`${target} (${statSync(target).size} bytes)`);
}
