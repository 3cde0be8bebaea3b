"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");

const {
  TICKS_PER_SECOND,
  rateToRational,
  ticksPerFrameForRate,
  parseTimebase,
  framesToTicks,
  ticksToFrames,
  assignLanes,
  planPlacement,
} = require("../src/timeline.js");

const TPF_23976 = 10594584000n; // 254016000000 * 1001 / 24000
const TPF_2997 = 8475667200n; // 254016000000 * 1001 / 30000

test("NTSC and whole rates become exact fractions", () => {
  assert.deepEqual(rateToRational(23.976023976023978), { num: 24000, den: 1001 });
  assert.deepEqual(rateToRational(23.976), { num: 24000, den: 1001 });
  assert.deepEqual(rateToRational(29.97002997002997), { num: 30000, den: 1001 });
  assert.deepEqual(rateToRational(59.94), { num: 60000, den: 1001 });
  assert.deepEqual(rateToRational(25), { num: 25, den: 1 });
  assert.throws(() => rateToRational(0), RangeError);
  assert.throws(() => rateToRational(Number.NaN), RangeError);
});

test("ticks per frame match Premiere's timebases", () => {
  assert.equal(ticksPerFrameForRate(24000 / 1001), TPF_23976);
  assert.equal(ticksPerFrameForRate(30000 / 1001), TPF_2997);
  assert.equal(ticksPerFrameForRate(25), 10160640000n);
  assert.equal(ticksPerFrameForRate(24), 10584000000n);
  // one second of frames is one second of ticks (NTSC: 1.001 s per rate's frames)
  assert.equal(ticksPerFrameForRate(24) * 24n, TICKS_PER_SECOND);
  assert.equal(TPF_23976 * 24000n, TICKS_PER_SECOND * 1001n);
});

test("getTimebase answers are read as BigInt ticks per frame", () => {
  assert.equal(parseTimebase("10594584000"), TPF_23976);
  assert.equal(parseTimebase(" 8475667200 "), TPF_2997);
  assert.equal(parseTimebase(10160640000), 10160640000n);
  assert.equal(parseTimebase({ ticks: "10594584000" }), TPF_23976);
  assert.equal(parseTimebase(TPF_2997), TPF_2997);
  assert.equal(parseTimebase(""), null);
  assert.equal(parseTimebase("0"), null);
  assert.equal(parseTimebase("23.976"), null);
  assert.equal(parseTimebase(undefined), null);
});

test("frames and ticks convert exactly beyond 2^53 ticks", () => {
  // 12 hours at 23.976: 1,035,360 frames, about 1.1e16 ticks (> Number.MAX_SAFE_INTEGER)
  const frames = 12 * 3600 * 24;
  const ticks = framesToTicks(frames, TPF_23976);
  assert.equal(ticks, BigInt(frames) * TPF_23976);
  assert.ok(ticks > BigInt(Number.MAX_SAFE_INTEGER));
  assert.equal(ticksToFrames(ticks, TPF_23976), frames);
  assert.throws(() => framesToTicks(-1, TPF_23976), RangeError);
  assert.throws(() => framesToTicks(1.5, TPF_23976), RangeError);
});

test("overlapping lines of one speaker go on separate lanes", () => {
  const lanes = assignLanes([
    { recordStart: 0, recordDuration: 50 },
    { recordStart: 40, recordDuration: 20 },
    { recordStart: 50, recordDuration: 10 },
    { recordStart: 61, recordDuration: 5 },
  ]);
  assert.deepEqual(lanes, [0, 1, 0, 0]);
});

function line(id, speaker, start, duration, extra = {}) {
  return {
    line_id: id,
    speaker,
    text: `${id} text`,
    timecode: "",
    record_start: start,
    record_duration: duration,
    state: "done",
    flags: [],
    track: `Revoice - ${speaker}`,
    wav: `/media/${speaker}_${id}_t1.wav`,
    ...extra,
  };
}

test("23.976 @ 01:00:00:00: lines land at their record frames from the sequence start", () => {
  const status = {
    timeline: { rate: 24000 / 1001, start_frames: 86400 },
    lines: [line("L0001", "NAGG", 29, 52), line("L0002", "NELL", 100, 40), line("L0003", "NAGG", 300, 24)],
  };
  const plan = planPlacement(status, { existingAudioTrackCount: 4, ticksPerFrame: TPF_23976 });
  assert.deepEqual(plan.tracks, [
    { audioTrackIndex: 4, name: "Revoice - NAGG" },
    { audioTrackIndex: 5, name: "Revoice - NELL" },
  ]);
  const byId = Object.fromEntries(plan.placements.map((p) => [p.lineId, p]));
  assert.equal(byId.L0001.ticks, (29n * TPF_23976).toString());
  assert.equal(byId.L0001.ticks, "307242936000");
  assert.equal(byId.L0002.ticks, (100n * TPF_23976).toString());
  assert.equal(byId.L0003.ticks, (300n * TPF_23976).toString());
  // the 01:00:00:00 start is not added: it is the sequence's display offset
  assert.notEqual(byId.L0001.ticks, ((86400n + 29n) * TPF_23976).toString());
  assert.equal(byId.L0001.audioTrackIndex, 4);
  assert.equal(byId.L0003.audioTrackIndex, 4);
  assert.equal(byId.L0002.audioTrackIndex, 5);
  // ordered by track, then time: each new index is one past the last
  assert.deepEqual(plan.placements.map((p) => p.lineId), ["L0001", "L0003", "L0002"]);
});

test("29.97 drop-frame @ 01:00:00;00: frames, not timecode labels, give the ticks", () => {
  const status = {
    timeline: { rate: 30000 / 1001, start_frames: 107892 },
    lines: [line("L0001", "HAMM", 1800, 90), line("L0002", "CLOV", 17982, 45)],
  };
  const plan = planPlacement(status, { existingAudioTrackCount: 2, ticksPerFrame: TPF_2997 });
  const byId = Object.fromEntries(plan.placements.map((p) => [p.lineId, p]));
  assert.equal(byId.L0001.ticks, "15256200960000"); // 1800 frames = 60.06 s
  assert.equal(byId.L0002.ticks, (17982n * TPF_2997).toString()); // 00:10:00;00 DF is frame 17982
  assert.equal(byId.L0001.audioTrackIndex, 2);
  assert.equal(byId.L0002.audioTrackIndex, 3);
});

test("failed, cancelled and WAV-less lines are skipped; flags are collected", () => {
  const status = {
    lines: [
      line("L0001", "A", 0, 10, { flags: ["ratio 1.31 outside 0.80-1.25 of natural speed"] }),
      line("L0002", "A", 20, 10, { state: "failed", wav: null, message: "text is empty" }),
      line("L0003", "B", 30, 10, { state: "cancelled", wav: null }),
      line("L0004", "B", 40, 10, { state: "cached" }),
      line("L0005", "B", 50, 10, { wav: null }),
    ],
  };
  const plan = planPlacement(status, { existingAudioTrackCount: 0, ticksPerFrame: 10n });
  assert.deepEqual(plan.placements.map((p) => p.lineId), ["L0001", "L0004"]);
  assert.deepEqual(
    plan.skipped.map((s) => [s.lineId, s.state]),
    [["L0002", "failed"], ["L0003", "cancelled"], ["L0005", "done"]],
  );
  assert.equal(plan.skipped[0].reason, "text is empty");
  assert.deepEqual(plan.flagged.map((f) => f.lineId), ["L0001"]);
});

test("overlapping lines of one speaker get an extra new track, never an existing one", () => {
  const status = {
    lines: [line("L0001", "ANNA", 0, 100), line("L0002", "ANNA", 50, 100), line("L0003", "ANNA", 200, 10)],
  };
  const plan = planPlacement(status, { existingAudioTrackCount: 3, ticksPerFrame: 1n });
  assert.deepEqual(plan.tracks, [
    { audioTrackIndex: 3, name: "Revoice - ANNA" },
    { audioTrackIndex: 4, name: "Revoice - ANNA 2" },
  ]);
  assert.ok(plan.placements.every((p) => p.audioTrackIndex >= 3));
  assert.deepEqual(plan.placements.map((p) => [p.lineId, p.audioTrackIndex]), [
    ["L0001", 3],
    ["L0003", 3],
    ["L0002", 4],
  ]);
});

test("planPlacement checks its inputs", () => {
  assert.throws(() => planPlacement({ lines: [] }, { existingAudioTrackCount: -1, ticksPerFrame: 1n }), RangeError);
  assert.throws(() => planPlacement({ lines: [] }, { existingAudioTrackCount: 0, ticksPerFrame: 1 }), RangeError);
  const empty = planPlacement({}, { existingAudioTrackCount: 0, ticksPerFrame: 1n });
  assert.deepEqual(empty, { tracks: [], placements: [], skipped: [], flagged: [] });
});
