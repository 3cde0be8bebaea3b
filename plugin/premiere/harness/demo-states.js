"use strict";
/**
 * Panel states for the screenshot harness and the UI tests: idle, running
 * and done, built on ui.js's initialState() as app.js's state is (the job
 * parts like the service's job status). Invented dialogue.
 */

// not destructured: in the harness page every script shares one global scope, and ui.js's names are in it
const panelView = require("../src/ui.js");

const LINES = [
  ["L0001", "ANNA", "01:00:01:05", "You said the boat would be here by six."],
  ["L0002", "BEN", "01:00:04:04", "The tide had other plans."],
  ["L0003", "ANNA", "01:00:07:20", "The tide doesn't make plans, Ben. People do."],
  ["L0004", "CLARA", "01:00:12:12", "Both of you, quiet. Someone's on the pier."],
  ["L0005", "BEN", "01:00:15:02", "It's only the harbour master."],
  ["L0006", "ANNA", "01:00:18:09", "At this hour? Then he's waiting for us."],
  ["L0007", "CLARA", "01:00:21:17", "Or for the boat."],
];

const RATIO_FLAG = "ratio 1.31 outside 0.80-1.25 of natural speed";
const LOUDNESS_FLAG = "loudness -20.4 LUFS is +2.6 LU off the -23.0 LUFS target";

function baseState(view) {
  return {
    ...panelView.initialState(),
    view,
    sequence: { name: "Reel 3 - Harbour", rateLabel: "23.976 fps", audioTrackCount: 4 },
    service: { state: "ok", message: "", transport: "http", version: "0.1.0" },
  };
}

function jobLine([lineId, speaker, timecode, text], state, flags = []) {
  return { line_id: lineId, speaker, timecode, text, state, flags, message: "", track: `Revoice - ${speaker}` };
}

/** The panel waiting for the editor. */
function idle() {
  return baseState("idle");
}

/**
 * A job three lines in (one reused from an earlier run), one rendering. No
 * flags yet: the service sets them when the job ends.
 */
function running() {
  const state = baseState("running");
  const states = ["done", "cached", "done", "rendering", "pending", "pending", "pending"];
  state.job = {
    id: "9f2c",
    state: "running",
    done: 3,
    total: 7,
    label: "L0004 rendering",
    lines: LINES.map((line, i) => jobLine(line, states[i])),
  };
  return state;
}

/** The job finished: six lines placed on three new tracks, one failed. */
function done() {
  const state = baseState("done");
  const trackOf = { ANNA: 4, BEN: 5, CLARA: 6 };
  const placed = LINES.slice(0, 6).map(([lineId, speaker, timecode]) => ({
    lineId,
    speaker,
    timecode,
    audioTrackIndex: trackOf[speaker],
    trackName: `Revoice - ${speaker}`,
  }));
  placed.sort((a, b) => a.audioTrackIndex - b.audioTrackIndex || a.lineId.localeCompare(b.lineId));
  state.job = {
    id: "9f2c",
    state: "done",
    done: 7,
    total: 7,
    lines: LINES.map((line, i) => jobLine(line, i === 6 ? "failed" : "done")),
  };
  state.result = {
    placed,
    flagged: [
      { lineId: "L0002", flags: [RATIO_FLAG], message: "" },
      { lineId: "L0005", flags: [LOUDNESS_FLAG], message: "" },
    ],
    errors: ["L0007 failed: the voice produced no speech for this line"],
    notes: ['WAVs imported into the bin "Revoice - Reel 3 - Harbour 20261204-153012".'],
    placedDone: true,
  };
  return state;
}

module.exports = { idle, running, done };
