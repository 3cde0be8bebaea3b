"use strict";
/* The whole panel flow (idle -> running -> done) against the stand-ins. */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");

const { createController, connectService, bootPanel } = require("../src/app.js");
const { createPremiereHost } = require("../src/premiere.js");
const { createFileAccess } = require("../src/files.js");
const { stateDirFor } = require("../src/paths.js");
const { spoolDirFor } = require("../src/spool.js");
const { renderHtml } = require("../src/ui.js");
const { createPremiereStandIn } = require("../standins/premierepro.js");
const { createFakeService } = require("../standins/fake-service.js");
const { createUxpStandIn, fsStandIn, createOsStandIn } = require("../standins/uxp.js");

const TPF_23976 = 10594584000n;
const LINES = [
  { line_id: "L0001", speaker: "NAGG", text: "Me pap!", timecode: "01:00:01:05", record_start: 29, record_duration: 52 },
  {
    line_id: "L0002",
    speaker: "NELL",
    text: "What is it, my pet?",
    timecode: "01:00:04:04",
    record_start: 100,
    record_duration: 40,
    flags: ["ratio 1.31 outside 0.80-1.25 of natural speed"],
  },
  { line_id: "L0003", speaker: "NAGG", text: "Time for love?", timecode: "01:00:12:12", record_start: 300, record_duration: 24 },
];

/**
 * A panel wired to stand-ins: Premiere at 23.976 @ 01:00:00:00 with 2 audio
 * tracks, a fake service (http, or the spool when http is blocked).
 */
function setup({ platform = "linux", serviceOptions = {}, writeServiceJson = true, jsonToken, spool = false, pickedPath = null, lines = LINES } = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "revoice-panel-"));
  const projectDir = path.join(home, "projects", "Film");
  fs.mkdirSync(projectDir, { recursive: true });
  const stateDir = stateDirFor({ platform, homedir: home, env: {} });
  fs.mkdirSync(stateDir, { recursive: true });
  const service = createFakeService({ lines, startFrames: 86400, mediaDir: path.join(projectDir, "media"), ...serviceOptions });
  if (writeServiceJson) {
    fs.writeFileSync(
      path.join(stateDir, "service.json"),
      JSON.stringify({ version: 1, url: "http://127.0.0.1:47390", port: 47390, token: jsonToken || service.token, pid: 1 }),
    );
  }
  const spoolDir = spoolDirFor(platform, stateDir);
  if (spool) fs.mkdirSync(spoolDir, { recursive: true });
  const standIn = createPremiereStandIn({
    projectPath: path.join(projectDir, "Film.prproj"),
    timebase: TPF_23976.toString(),
    zeroPoint: (86400n * TPF_23976).toString(),
    audioTracks: 2,
  });
  const files = createFileAccess({ fs: fs.promises, platform });
  const renders = [];
  const hooks = { onSleep: async () => {} };
  const sleep = async (ms) => {
    if (spool) service.processSpool(spoolDir);
    await hooks.onSleep(ms);
  };
  let ids = 0;
  const controller = createController({
    host: createPremiereHost({ ppro: standIn.ppro, files }),
    connect: (settings) =>
      connectService({ files, platform, stateDir, settings, fetch: service.fetch, sleep, makeId: () => `req${(ids += 1)}` }),
    files,
    platform,
    stateDir,
    pickSubtitles: async () => pickedPath,
    now: () => new Date(2026, 11, 4, 15, 30, 12),
    sleep,
    pollMs: 1,
    render: (state) => {
      renders.push(state.view);
      assert.equal(typeof renderHtml(state), "string");
    },
  });
  return { controller, service, standIn, renders, hooks, projectDir, stateDir };
}

test("idle -> running -> done: export, job, per-line progress, placement on new tracks", async () => {
  const { controller, service, standIn, renders, projectDir } = setup();
  await controller.refresh();
  assert.equal(controller.state.sequence.name, "Reel 1");
  assert.equal(controller.state.sequence.rateLabel, "23.976 fps");
  assert.deepEqual(
    { state: controller.state.service.state, transport: controller.state.service.transport },
    { state: "ok", transport: "http" },
  );

  await controller.dispatch("revoice");
  const post = service.requests.find((r) => r.method === "POST");
  const stem = path.join(projectDir, "Revoice", "Reel_1_20261204-153012");
  assert.deepEqual(post.body, { timeline: `${stem}.otio`, subtitles: null, out: `${stem}_revoiced.otio`, options: {} });
  assert.ok(fs.existsSync(`${stem}.otio`), "the sequence was exported next to the project");
  assert.ok(renders.includes("running"));
  assert.equal(controller.state.view, "done");

  const result = controller.state.result;
  assert.deepEqual(
    result.placed.map((p) => [p.lineId, p.audioTrackIndex, p.ticks]),
    [
      ["L0001", 2, (29n * TPF_23976).toString()],
      ["L0003", 2, (300n * TPF_23976).toString()],
      ["L0002", 3, (100n * TPF_23976).toString()],
    ],
  );
  assert.deepEqual(result.flagged, [
    { lineId: "L0002", flags: ["ratio 1.31 outside 0.80-1.25 of natural speed"], message: "" },
  ]);
  assert.deepEqual(result.errors, []);
  // the 01:00:00:00 zero point matches the job's start: no warning about it
  assert.ok(!result.notes.some((note) => /starts at frame/.test(note)));
  assert.deepEqual(standIn.sequence.tracks.map((t) => t.name), ["Audio 1", "Audio 2", "Revoice - NAGG", "Revoice - NELL"]);
  const html = renderHtml(controller.state);
  assert.match(html, /3 lines placed on 2 new tracks/);
  assert.match(html, /Flagged \(1\)/);
});

test("a chosen subtitle file is sent with the job", async () => {
  const { controller, service } = setup({ pickedPath: "/subs/reel1.srt" });
  await controller.refresh();
  await controller.dispatch("use-file");
  assert.equal(controller.state.subtitles.path, "/subs/reel1.srt");
  await controller.dispatch("revoice");
  const post = service.requests.find((r) => r.method === "POST");
  assert.equal(post.body.subtitles, "/subs/reel1.srt");
});

test("Cancel sends DELETE /jobs/{id}; finished lines can still be placed", async () => {
  const { controller, service, hooks, standIn } = setup();
  await controller.refresh();
  hooks.onSleep = async () => {
    hooks.onSleep = async () => {};
    await controller.dispatch("cancel");
  };
  await controller.dispatch("revoice");
  const deletes = service.requests.filter((r) => r.method === "DELETE");
  assert.equal(deletes.length, 1);
  assert.equal(deletes[0].path, "/jobs/job1");
  assert.equal(deletes[0].headers.Authorization, `Bearer ${service.token}`);
  assert.equal(controller.state.view, "done");
  assert.equal(controller.state.job.state, "cancelled");
  assert.deepEqual(
    { cancelled: controller.state.result.cancelled, finished: controller.state.result.finishedCount },
    { cancelled: true, finished: 1 },
  );
  assert.deepEqual(standIn.callsTo("SequenceEditor.createOverwriteItemAction"), []);
  assert.match(renderHtml(controller.state), /Place 1 finished lines/);

  await controller.dispatch("place-finished");
  assert.deepEqual(controller.state.result.placed.map((p) => p.lineId), ["L0001"]);
  assert.equal(standIn.callsTo("SequenceEditor.createOverwriteItemAction").length, 1);
  assert.ok(controller.state.result.notes.some((note) => /2 lines were not rendered/.test(note)));
});

test("a stale token shows the 401 message and sends no job", async () => {
  const { controller, service } = setup({ jsonToken: "stale" });
  await controller.refresh();
  assert.equal(controller.state.service.state, "error");
  assert.match(controller.state.service.message, /refused the panel's token \(401/);
  await controller.dispatch("revoice");
  assert.equal(controller.state.view, "idle");
  assert.match(controller.state.error, /401/);
  assert.equal(service.requests.filter((r) => r.method === "POST").length, 0);
  assert.match(renderHtml(controller.state), /Connection/);
});

test("typed port and token are used instead of service.json", async () => {
  const { controller, service } = setup({ jsonToken: "stale" });
  await controller.refresh();
  await controller.dispatch("save-settings", { port: "47390", token: service.token });
  assert.equal(controller.state.service.state, "ok");
});

test("macOS blocking http://127.0.0.1: the file spool carries the job", async () => {
  const { controller, service, standIn } = setup({
    platform: "darwin",
    serviceOptions: { unreachable: true },
    spool: true,
  });
  await controller.refresh();
  assert.equal(controller.state.service.state, "ok");
  assert.equal(controller.state.service.transport, "spool");
  assert.match(controller.state.service.message, /using the file spool/);
  await controller.dispatch("revoice");
  assert.equal(controller.state.view, "done");
  assert.equal(controller.state.result.placed.length, 3);
  const ops = service.requests.filter((r) => r.transport === "spool").map((r) => r.op);
  // health when the panel opened, health again when Revoice re-reads service.json, then the job
  assert.deepEqual(ops, ["health", "health", "create"]);
  assert.ok(service.requests.filter((r) => r.transport === "spool").every((r) => r.message.token === service.token));
  assert.equal(standIn.callsTo("SequenceEditor.createOverwriteItemAction").length, 3);
  assert.match(renderHtml(controller.state), /file spool/);
});

test("Cancel over the spool is a cancel request", async () => {
  const { controller, service, hooks } = setup({ platform: "darwin", serviceOptions: { unreachable: true }, spool: true });
  await controller.refresh();
  hooks.onSleep = async () => {
    if (controller.state.view !== "running") return;
    hooks.onSleep = async () => {};
    await controller.dispatch("cancel");
  };
  await controller.dispatch("revoice");
  assert.ok(service.requests.some((r) => r.transport === "spool" && r.op === "cancel" && r.message.job_id === "job1"));
  assert.equal(controller.state.job.state, "cancelled");
});

test("macOS blocking http with no spool: the message says why", async () => {
  const { controller } = setup({ platform: "darwin", serviceOptions: { unreachable: true } });
  await controller.refresh();
  assert.equal(controller.state.service.state, "error");
  assert.match(controller.state.service.message, /Cannot reach the Revoice service at http:\/\/127\.0\.0\.1:47390/);
  assert.match(controller.state.service.message, /macOS may block plain http/);
});

test("no service.json: tell the editor how to start the service", async () => {
  const { controller } = setup({ writeServiceJson: false });
  await controller.refresh();
  assert.equal(controller.state.service.state, "error");
  assert.match(controller.state.service.message, /revoice serve --port 47390/);
});

test("a failed job ends in the done view with the service's error", async () => {
  const lines = [{ line_id: "L0001", speaker: "A", record_start: 0, record_duration: 10, final: "failed", message: "empty text" }];
  const { controller, standIn } = setup({ lines });
  await controller.refresh();
  await controller.dispatch("revoice");
  assert.equal(controller.state.view, "done");
  assert.deepEqual(controller.state.result.errors, ["L0001 failed: empty text"]);
  assert.deepEqual(standIn.callsTo("Project.importFiles"), []);
  assert.match(renderHtml(controller.state), /Nothing was placed/);
});

test("bootPanel wires the UXP modules and renders into the panel element", async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "revoice-boot-"));
  const standIn = createPremiereStandIn();
  const listeners = [];
  const root = { innerHTML: "", addEventListener: (type, fn) => listeners.push(type), querySelectorAll: () => [] };
  const stored = {};
  const controller = bootPanel({
    ppro: standIn.ppro,
    uxp: createUxpStandIn({ pickedPath: "/subs/a.srt" }),
    fs: fsStandIn,
    os: createOsStandIn({ platform: "linux", homedir: home }),
    fetch: async () => {
      throw new TypeError("offline");
    },
    root,
    storage: { getItem: (key) => stored[key] || null, setItem: (key, value) => (stored[key] = value) },
  });
  await controller.refresh();
  assert.deepEqual(listeners, ["click"]);
  assert.match(root.innerHTML, /Reel 1/);
  assert.match(root.innerHTML, /revoice serve --port 47390/);
  await controller.dispatch("choose-subtitles");
  assert.equal(controller.state.subtitles.path, "/subs/a.srt");
  await controller.dispatch("save-settings", { port: "47390", token: "typed" });
  assert.deepEqual(JSON.parse(stored["revoice.connection"]), { port: 47390, token: "typed" });
});
