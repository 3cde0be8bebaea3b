#!/usr/bin/env node
// Package the panel as a .ccx: a zip with manifest.json at its root, holding
// only what the panel runs (manifest, HTML, CSS, JS, icons, README); the
// tests, stand-ins, harness and tools stay out. No network, no npm packages:
// the `zip` command when it exists, else a small zip writer on node's zlib.
//
// Usage: node plugin/premiere/tools/package.mjs [--out FILE] [--writer auto|zip|node]
// Default output: plugin/premiere/dist/revoice.ccx (git-ignored).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";

const pluginDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** What goes in the package, relative to the plugin folder. */
const INCLUDED = ["manifest.json", "index.html", "index.js", "styles.css", "README.md", "icons", "src"];

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
};

/** The files to package, as sorted forward-slash paths relative to the plugin folder. */
function packagedFiles() {
  const found = [];
  const walk = (path) => {
    const name = path.split(sep).pop();
    if (name.startsWith(".")) return;
    if (statSync(path).isDirectory()) {
      for (const child of readdirSync(path).sort()) walk(join(path, child));
    } else {
      found.push(relative(pluginDir, path).split(sep).join("/"));
    }
  };
  for (const entry of INCLUDED) {
    const path = join(pluginDir, entry);
    if (existsSync(path)) walk(path);
  }
  return found.sort();
}

/** Fail early on a manifest UXP would refuse. */
function checkManifest(files) {
  const manifest = JSON.parse(readFileSync(join(pluginDir, "manifest.json"), "utf-8"));
  const problems = [];
  if (manifest.manifestVersion !== 5) problems.push("manifestVersion must be 5");
  if (!manifest.host || manifest.host.app !== "premierepro") problems.push('host.app must be "premierepro" (one host for a .ccx)');
  if (!files.includes(manifest.main)) problems.push(`main "${manifest.main}" is not packaged`);
  const icons = [...(manifest.icons || []), ...(manifest.entrypoints || []).flatMap((e) => e.icons || [])];
  for (const icon of icons) if (!files.includes(icon.path)) problems.push(`icon "${icon.path}" is not packaged`);
  if (problems.length) throw new Error(`manifest.json: ${problems.join("; ")}`);
  return manifest;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data) {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A zip of `files` (deflated, or stored when that is smaller), dated 1980-01-01 so builds repeat byte for byte. */
function zipWithNode(files, outPath) {
  const DOS_DATE = (0 << 9) | (1 << 5) | 1;
  const UTF8_NAMES = 0x0800;
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const name of files) {
    const data = readFileSync(join(pluginDir, ...name.split("/")));
    const deflated = deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const nameBytes = Buffer.from(name, "utf-8");
    const crc = crc32(data);
    // The local header and the central directory entry share the fields from "version needed" to the
    // name's length; the central entry has "made by" before them, so they start 2 bytes later there.
    const writeEntryFields = (header, at) => {
      header.writeUInt16LE(20, at); // version needed: zip 2.0
      header.writeUInt16LE(UTF8_NAMES, at + 2);
      header.writeUInt16LE(stored ? 0 : 8, at + 4);
      header.writeUInt16LE(0, at + 6); // time 00:00
      header.writeUInt16LE(DOS_DATE, at + 8);
      header.writeUInt32LE(crc, at + 10);
      header.writeUInt32LE(body.length, at + 14);
      header.writeUInt32LE(data.length, at + 18);
      header.writeUInt16LE(nameBytes.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeEntryFields(local, 4);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by: Unix, zip 2.0
    writeEntryFields(central, 6);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(outPath, Buffer.concat([...locals, ...centrals, end]));
}

function zipWithCli(files, outPath) {
  const run = spawnSync("zip", ["-X", "-q", outPath, ...files], { cwd: pluginDir, encoding: "utf-8" });
  if (run.status !== 0) throw new Error(`zip failed: ${run.stderr || run.error}`);
}

function zipCliAvailable() {
  const probe = spawnSync("zip", ["-v"], { encoding: "utf-8" });
  return probe.status === 0;
}

const outPath = resolve(option("--out", join(pluginDir, "dist", "revoice.ccx")));
const writerChoice = option("--writer", "auto");
const files = packagedFiles();
const manifest = checkManifest(files);
const writer = writerChoice === "auto" ? (zipCliAvailable() ? "zip" : "node") : writerChoice;
if (!["zip", "node"].includes(writer)) throw new Error(`--writer must be auto, zip or node, not ${writerChoice}`);
mkdirSync(dirname(outPath), { recursive: true });
rmSync(outPath, { force: true });
if (writer === "zip") zipWithCli(files, outPath);
else zipWithNode(files, outPath);
console.log(`${outPath}: ${manifest.name} ${manifest.version}, ${files.length} files, ${statSync(outPath).size} bytes (${writer})`);
