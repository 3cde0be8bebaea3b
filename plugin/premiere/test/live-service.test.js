"use strict";
/*
 * The panel against the REAL service over real loopback HTTP: Premiere is the
 * stand-in, whose OTIO export fails so the FCP7 XML fallback runs, and that
 * export is a real Premiere XML (the shared corpus' premiere_example.xml,
 * 30 fps, 4 audio tracks). The service renders the SRT's lines with its real
 * voice; the panel places the WAVs. Skipped unless these are set (the pytest
 * wrapper tests/plugin/test_premiere_js.py starts `revoice serve` and sets them):
 *   REVOICE_LIVE_STATE_DIR  the running service's state folder (service.json)
 *   REVOICE_LIVE_TIMELINE   a Premiere FCP7 XML export
 *   REVOICE_LIVE_SUBTITLES  its SRT
 */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");

const { createController, connectService } = require("../src/app.js");
const { createPremiereHost } = require("../src/premiere.js");
const { createFileAccess } = require("../src/files.js");
const { createPremiereStandIn } = require("../standins/premierepro.js");

const { REVOICE_LIVE_STATE_DIR: stateDir, REVOICE_LIVE_TIMELINE: timeline, REVOICE_LIVE_SUBTITLES: subtitles } = process.env;
const skip = stateDir && timeline && subtitles ? false : "set REVOICE_LIVE_STATE_DIR, _TIMELINE, _SUBTITLES (see tests/plugin/test_premiere_js.py)";

/** Sample frames in a PCM WAV: the data chunk's size over the block size. */
function wavFrames(file) {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.toString("ascii", 0, 4), "RIFF");
  assert.equal(bytes.toString("ascii", 8, 12), "WAVE");
  let blockAlign = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString("ascii", at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === "fmt ") blockAlign = bytes.readUInt16LE(at + 8 + 12);
    if (id === "data") return size / blockAlign;
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

test("real service: FCP7 XML fallback, real job, WAVs placed at their record frames", { skip, timeout: 300000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "revoice-live-"));
  const projectDir = path.join(work, "Film");
  fs.mkdirSync(projectDir);
  const ticksPerFrame = 254016000000n / 30n;
  const standIn = createPremiereStandIn({
    sequenceName: "premiere_example",
    projectPath: path.join(projectDir, "Film.prproj"),
    audioTracks: 4,
    timebase: ticksPerFrame.toString(),
    otioExport: false,
    exportSources: { xml: timeline },
  });
  const files = createFileAccess({ fs: fs.promises, platform: process.platform === "win32" ? "win32" : "linux" });
  const platform = process.platform === "win32" ? "win32" : "linux";
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const views = [];
  const controller = createController({
    host: createPremiereHost({ ppro: standIn.ppro, files }),
    connect: (settings) =>
      connectService({ files, platform, stateDir, settings, fetch: globalThis.fetch, sleep, makeId: () => `${Date.now()}` }),
    files,
    platform,
    stateDir,
    pickSubtitles: async () => subtitles,
    now: () => new Date(),
    sleep,
    pollMs: 250,
    render: (state) => views.push(state.view),
  });

  await controller.refresh();
  assert.equal(controller.state.service.state, "ok", controller.state.service.message);
  await controller.dispatch("use-file");
  await controller.dispatch("revoice");
  assert.equal(controller.state.error, "");
  assert.equal(controller.state.view, "done");
  assert.ok(views.includes("running"));
  assert.deepEqual(controller.state.result.errors, []);
  assert.equal(controller.state.job.state, "done");
  assert.equal(controller.state.job.timeline.rate, 30);
  assert.match(controller.state.job.timeline.path, /\.xml$/);
  assert.deepEqual(standIn.callsTo("ProjectConverter.exportAsOpenTimelineIO").length, 1);
  assert.deepEqual(standIn.callsTo("ProjectConverter.exportAsFinalCutProXML").length, 1);

  const overwrites = standIn.callsTo("SequenceEditor.createOverwriteItemAction");
  const lines = Object.fromEntries(controller.state.job.lines.map((line) => [line.wav, line]));
  assert.equal(overwrites.length, 4);
  for (const [wav, ticks, videoIndex, audioIndex] of overwrites) {
    const line = lines[wav];
    assert.ok(line, `${wav} is one of the job's WAVs`);
    assert.equal(ticks, (BigInt(line.record_start) * ticksPerFrame).toString());
    assert.equal(videoIndex, 0);
    assert.ok(audioIndex >= 4, "only new tracks, past A4");
    // each WAV is exactly its slot: record_duration frames at 30 fps, 48 kHz
    assert.equal(wavFrames(wav), (line.record_duration * 48000) / 30);
  }
  assert.deepEqual(
    overwrites.map(([, , , audioIndex], i) => [controller.state.result.placed[i].speaker, audioIndex]),
    [["ANNA", 4], ["ANNA", 4], ["BEN", 5], ["BEN", 5]],
  );
  assert.deepEqual(
    controller.state.result.placed.map((p) => p.recordStart).sort((a, b) => a - b),
    [36, 150, 270, 600],
  );
  assert.deepEqual(standIn.sequence.tracks.slice(4).map((t) => t.name), ["Revoice - ANNA", "Revoice - BEN"]);
});
