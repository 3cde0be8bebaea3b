"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");

const { createPremiereHost, VIDEO_TRACK_INDEX_FOR_AUDIO } = require("../src/premiere.js");
const { createFileAccess } = require("../src/files.js");
const { planPlacement, ticksPerFrameForRate } = require("../src/timeline.js");
const { createPremiereStandIn } = require("../standins/premierepro.js");

const files = createFileAccess({ fs: fs.promises, platform: "linux" });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "revoice-ppro-"));

for (const exportReturns of ["boolean", "promise"]) {
  test(`OTIO export works when Premiere answers a ${exportReturns}`, async () => {
    const standIn = createPremiereStandIn({ exportReturns });
    const host = createPremiereHost({ ppro: standIn.ppro, files });
    const stem = path.join(tmp(), "Reel_1");
    const exported = await host.exportSequence(standIn.sequence, stem);
    assert.deepEqual(exported, { path: `${stem}.otio`, format: "otio", problems: [] });
    assert.deepEqual(standIn.callsTo("ProjectConverter.exportAsOpenTimelineIO"), [["Reel 1", `${stem}.otio`, true]]);
    assert.deepEqual(standIn.callsTo("ProjectConverter.exportAsFinalCutProXML"), []);
  });

  test(`FCP7 XML is the fallback when OTIO export answers false (${exportReturns})`, async () => {
    const standIn = createPremiereStandIn({ exportReturns, otioExport: false });
    const host = createPremiereHost({ ppro: standIn.ppro, files });
    const stem = path.join(tmp(), "Reel_1");
    const exported = await host.exportSequence(standIn.sequence, stem);
    assert.equal(exported.path, `${stem}.xml`);
    assert.equal(exported.format, "fcp7xml");
    assert.deepEqual(exported.problems, ["exportAsOpenTimelineIO returned false"]);
    assert.deepEqual(standIn.callsTo("ProjectConverter.exportAsFinalCutProXML"), [["Reel 1", `${stem}.xml`, true]]);
  });
}

test("FCP7 XML is the fallback when OTIO export throws or is missing", async () => {
  for (const otioExport of ["throw", "missing"]) {
    const standIn = createPremiereStandIn({ otioExport });
    const host = createPremiereHost({ ppro: standIn.ppro, files });
    const exported = await host.exportSequence(standIn.sequence, path.join(tmp(), "cut"));
    assert.equal(exported.format, "fcp7xml");
  }
});

test("an export that claims success but writes nothing is not trusted", async () => {
  const standIn = createPremiereStandIn({ writeExports: false });
  const host = createPremiereHost({ ppro: standIn.ppro, files });
  await assert.rejects(host.exportSequence(standIn.sequence, path.join(tmp(), "cut")), (err) => {
    assert.match(err.message, /could not export the sequence/);
    assert.match(err.message, /exportAsOpenTimelineIO wrote no file/);
    assert.match(err.message, /exportAsFinalCutProXML wrote no file/);
    return true;
  });
});

test("both exports failing is one clear error", async () => {
  const standIn = createPremiereStandIn({ otioExport: false, fcpExport: false, exportReturns: "boolean" });
  const host = createPremiereHost({ ppro: standIn.ppro, files });
  await assert.rejects(
    host.exportSequence(standIn.sequence, path.join(tmp(), "cut")),
    /exportAsOpenTimelineIO returned false; exportAsFinalCutProXML returned false/,
  );
});

test("describeSequence reads track counts, timebase and zero point", async () => {
  const standIn = createPremiereStandIn({ audioTracks: 4, videoTracks: 2, zeroPoint: (86400n * 10594584000n).toString() });
  const host = createPremiereHost({ ppro: standIn.ppro, files });
  assert.deepEqual(await host.describeSequence(standIn.sequence), {
    name: "Reel 1",
    audioTrackCount: 4,
    videoTrackCount: 2,
    ticksPerFrame: 10594584000n,
    zeroPointTicks: 86400n * 10594584000n,
  });
});

function jobStatus(rate, startFrames, lines) {
  return {
    id: "job1",
    state: "done",
    timeline: { rate, start_frames: startFrames },
    lines: lines.map(([id, speaker, start, duration]) => ({
      line_id: id,
      speaker,
      record_start: start,
      record_duration: duration,
      state: "done",
      flags: [],
      track: `Revoice - ${speaker}`,
      wav: `/projects/Film/Revoice/media/${speaker}_${id}_t1.wav`,
    })),
  };
}

async function importAndPlace(standIn, status) {
  const host = createPremiereHost({ ppro: standIn.ppro, files });
  const info = await host.describeSequence(standIn.sequence);
  const plan = planPlacement(status, { existingAudioTrackCount: info.audioTrackCount, ticksPerFrame: info.ticksPerFrame });
  const wavs = plan.placements.map((p) => p.wav);
  const imported = await host.importWavs(standIn.project, wavs, "Revoice - Reel 1");
  const outcome = await host.placeLines({
    project: standIn.project,
    sequence: standIn.sequence,
    plan,
    itemsByPath: imported.itemsByPath,
  });
  const naming = await host.nameTracks({ project: standIn.project, sequence: standIn.sequence, tracks: plan.tracks });
  return { plan, imported, outcome, naming };
}

test("23.976 @ 01:00:00:00: import, then overwrite on new tracks at the record frames' ticks", async () => {
  const tpf = 10594584000n;
  const standIn = createPremiereStandIn({ audioTracks: 3, timebase: tpf.toString(), zeroPoint: (86400n * tpf).toString() });
  const status = jobStatus(24000 / 1001, 86400, [
    ["L0001", "NAGG", 29, 52],
    ["L0002", "NELL", 100, 40],
    ["L0003", "NAGG", 300, 24],
  ]);
  const { imported, outcome, naming } = await importAndPlace(standIn, status);

  const [importCall] = standIn.callsTo("Project.importFiles");
  assert.deepEqual(importCall, [
    [
      "/projects/Film/Revoice/media/NAGG_L0001_t1.wav",
      "/projects/Film/Revoice/media/NAGG_L0003_t1.wav",
      "/projects/Film/Revoice/media/NELL_L0002_t1.wav",
    ],
    true,
    "Revoice - Reel 1",
    false,
  ]);
  assert.equal(imported.binName, "Revoice - Reel 1");
  assert.deepEqual(standIn.callsTo("SequenceEditor.createOverwriteItemAction"), [
    ["/projects/Film/Revoice/media/NAGG_L0001_t1.wav", (29n * tpf).toString(), VIDEO_TRACK_INDEX_FOR_AUDIO, 3],
    ["/projects/Film/Revoice/media/NAGG_L0003_t1.wav", (300n * tpf).toString(), VIDEO_TRACK_INDEX_FOR_AUDIO, 3],
    ["/projects/Film/Revoice/media/NELL_L0002_t1.wav", (100n * tpf).toString(), VIDEO_TRACK_INDEX_FOR_AUDIO, 4],
  ]);
  assert.equal(outcome.placed.length, 3);
  assert.deepEqual(outcome.missing, []);
  // the editor's tracks A1-A3 hold only what they held before
  for (const track of standIn.sequence.tracks.slice(0, 3)) {
    assert.deepEqual(track.clips.map((clip) => clip.original), [true]);
  }
  assert.deepEqual(
    standIn.sequence.tracks.slice(3).map((track) => [track.name, track.clips.map((clip) => clip.startTicks)]),
    [
      ["Revoice - NAGG", ["307242936000", (300n * tpf).toString()]],
      ["Revoice - NELL", [(100n * tpf).toString()]],
    ],
  );
  assert.deepEqual(naming, { named: ["Revoice - NAGG", "Revoice - NELL"], unnamed: [] });
  // all overwrites are one undoable "Revoice" step
  const revoice = standIn.transactions.filter((t) => t.label === "Revoice");
  assert.equal(revoice.length, 1);
  assert.equal(revoice[0].actions.length, 3);
});

test("29.97 drop-frame: ticks come from the sequence timebase, tracks start past A6", async () => {
  const tpf = 8475667200n;
  const standIn = createPremiereStandIn({ audioTracks: 6, timebase: tpf.toString() });
  const status = jobStatus(30000 / 1001, 107892, [
    ["L0001", "HAMM", 1800, 90],
    ["L0002", "CLOV", 17982, 45],
  ]);
  await importAndPlace(standIn, status);
  assert.deepEqual(standIn.callsTo("SequenceEditor.createOverwriteItemAction"), [
    ["/projects/Film/Revoice/media/HAMM_L0001_t1.wav", "15256200960000", 0, 6],
    ["/projects/Film/Revoice/media/CLOV_L0002_t1.wav", (17982n * tpf).toString(), 0, 7],
  ]);
  assert.equal(ticksPerFrameForRate(status.timeline.rate), tpf);
  assert.equal(standIn.sequence.tracks.length, 8);
});

test("26.3+: every edit is created inside lockedAccess and run with executeTransaction", async () => {
  const standIn = createPremiereStandIn({ lockedAccess: true });
  await importAndPlace(standIn, jobStatus(25, 0, [["L0001", "ANNA", 10, 20]]));
  const locks = standIn.callsTo("Project.lockedAccess").length;
  const transactions = standIn.callsTo("Project.executeTransaction").map(([label]) => label);
  assert.deepEqual(transactions, ["Revoice: bin Revoice - Reel 1", "Revoice", "Revoice: name tracks"]);
  assert.equal(locks, transactions.length);
  assert.ok(standIn.transactions.every((t) => t.locked));
});

test("before 26.3 (no lockedAccess): executeTransaction runs directly", async () => {
  const standIn = createPremiereStandIn({ lockedAccess: false, exportReturns: "boolean" });
  assert.equal(typeof standIn.project.lockedAccess, "undefined");
  const { outcome } = await importAndPlace(standIn, jobStatus(25, 0, [["L0001", "ANNA", 10, 20]]));
  assert.equal(outcome.placed.length, 1);
  assert.deepEqual(standIn.callsTo("Project.lockedAccess"), []);
  assert.equal(standIn.callsTo("Project.executeTransaction").length, 3);
  assert.ok(standIn.transactions.every((t) => !t.locked));
});

test("without bins or track renaming it imports into the root and reports unnamed tracks", async () => {
  const standIn = createPremiereStandIn({ canCreateBin: false, canNameTracks: false });
  const { imported, outcome, naming } = await importAndPlace(standIn, jobStatus(25, 0, [["L0001", "ANNA", 10, 20]]));
  assert.equal(imported.binName, null);
  assert.equal(standIn.callsTo("Project.importFiles")[0][2], undefined);
  assert.equal(outcome.placed.length, 1);
  assert.deepEqual(naming, { named: [], unnamed: ["Revoice - ANNA"] });
});

test("a WAV Premiere did not import is reported, the others are placed", async () => {
  const standIn = createPremiereStandIn();
  const host = createPremiereHost({ ppro: standIn.ppro, files });
  const status = jobStatus(25, 0, [
    ["L0001", "ANNA", 10, 20],
    ["L0002", "ANNA", 40, 20],
  ]);
  const plan = planPlacement(status, { existingAudioTrackCount: 2, ticksPerFrame: 10160640000n });
  const imported = await host.importWavs(standIn.project, [plan.placements[0].wav], "bin");
  const outcome = await host.placeLines({ project: standIn.project, sequence: standIn.sequence, plan, itemsByPath: imported.itemsByPath });
  assert.deepEqual(outcome.placed.map((p) => p.lineId), ["L0001"]);
  assert.deepEqual(outcome.missing, [
    { lineId: "L0002", reason: "Premiere did not import /projects/Film/Revoice/media/ANNA_L0002_t1.wav" },
  ]);
});

test("getActive answers nulls when no project or sequence is open", async () => {
  const standIn = createPremiereStandIn({ activeSequence: false });
  const host = createPremiereHost({ ppro: standIn.ppro, files });
  const active = await host.getActive();
  assert.equal(active.project, standIn.project);
  assert.equal(active.sequence, null);
});
