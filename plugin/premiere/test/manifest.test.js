"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");

const { DEFAULT_SERVICE_PORT } = require("../src/paths.js");

const pluginDir = path.join(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(pluginDir, "manifest.json"), "utf-8"));

test("manifest v5 for Premiere 25.6+, one panel entrypoint", () => {
  assert.equal(manifest.manifestVersion, 5);
  assert.deepEqual(manifest.host, { app: "premierepro", minVersion: "25.6.0" });
  assert.equal(manifest.main, "index.html");
  assert.equal(manifest.entrypoints.length, 1);
  assert.equal(manifest.entrypoints[0].type, "panel");
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/);
});

test("network permission lists exactly the loopback origins", () => {
  const { domains } = manifest.requiredPermissions.network;
  assert.ok(Array.isArray(domains), "never \"all\"");
  assert.deepEqual(domains, [
    `http://127.0.0.1:${DEFAULT_SERVICE_PORT}`,
    `ws://127.0.0.1:${DEFAULT_SERVICE_PORT}`,
    "http://127.0.0.1",
    "ws://127.0.0.1",
  ]);
  for (const domain of domains) assert.match(domain, /^(http|ws):\/\/127\.0\.0\.1(:\d+)?$/);
  // absolute paths (service.json, the export folder) need fullAccess
  assert.equal(manifest.requiredPermissions.localFileSystem, "fullAccess");
});

test("every file the manifest names exists, and index.html loads index.js", () => {
  const icons = [...manifest.icons, ...manifest.entrypoints.flatMap((entry) => entry.icons || [])];
  for (const file of [manifest.main, ...icons.map((icon) => icon.path)]) {
    assert.ok(fs.existsSync(path.join(pluginDir, file)), `${file} exists`);
  }
  const html = fs.readFileSync(path.join(pluginDir, "index.html"), "utf-8");
  assert.match(html, /<script src="index\.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="styles\.css">/);
  assert.ok(!/type="module"/.test(html), "UXP loads CommonJS (require), not ES modules");
});

test("the panel's modules are CommonJS and load without UXP", () => {
  for (const name of fs.readdirSync(path.join(pluginDir, "src"))) {
    const source = fs
      .readFileSync(path.join(pluginDir, "src", name), "utf-8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    assert.ok(!/^\s*import\s/m.test(source), `${name} has no ES import`);
    assert.ok(!/require\("(premierepro|uxp|fs|os)"\)/.test(source), `${name} gets Premiere and UXP modules passed in`);
    require(path.join(pluginDir, "src", name));
  }
});
