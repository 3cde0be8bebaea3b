"use strict";
/**
 * The panel's controller: idle -> running -> done. It connects to the
 * service (http first, the file spool when http://127.0.0.1 is blocked),
 * exports the active sequence, sends the job, follows its progress, and
 * places the WAVs on new audio tracks. Everything it touches is passed in
 * (`bootPanel` wires the real UXP modules), so the tests run it whole
 * against stand-ins.
 */

const { DEFAULT_SERVICE_PORT, stateDirFor, runPaths, timeStamp } = require("./paths.js");
const {
  ServiceError,
  discoverService,
  isManifestPort,
  createServiceClient,
  buildJobRequest,
  waitForJob,
} = require("./service.js");
const { spoolAvailable, createSpoolClient } = require("./spool.js");
const { ticksPerFrameForRate, ticksToFrames, planPlacement, PLACEABLE_STATES } = require("./timeline.js");
const { createFileAccess } = require("./files.js");
const { createPremiereHost } = require("./premiere.js");
const { createView, initialState } = require("./ui.js");

/**
 * Reach the service: read where it is, try http://127.0.0.1 (GET /health),
 * and when that cannot connect (macOS may block plain http in UXP) use the
 * file spool if the service offers one.
 * @param {{files: object, platform: string, stateDir: string, settings?: object,
 *   fetch: Function, sleep: (ms: number) => Promise<void>, makeId: () => string}} options
 * @returns {Promise<{client: object, health: object, info: object, note: string}>}
 */
async function connectService({ files, platform, stateDir, settings, fetch, sleep, makeId }) {
  const info = await discoverService({ files, stateDir, platform, settings });
  const http = createServiceClient({ baseUrl: info.url, token: info.token, fetch, timeoutMs: 5000 });
  let httpError;
  try {
    return { client: http, health: await http.health(), info, note: "" };
  } catch (err) {
    if (!(err instanceof ServiceError) || err.kind !== "unreachable") throw err;
    httpError = err;
  }
  if (await spoolAvailable({ files, platform, stateDir })) {
    const spool = createSpoolClient({ files, platform, stateDir, token: info.token, sleep, makeId });
    const health = await spool.health();
    return { client: spool, health, info, note: `${info.url} could not be reached; using the file spool` };
  }
  const hints = [];
  if (platform === "darwin") hints.push("Premiere on macOS may block plain http:// and this service offers no file spool");
  if (!isManifestPort(info.port)) {
    hints.push(`the panel is allowed port ${DEFAULT_SERVICE_PORT}: restart with "revoice serve --port ${DEFAULT_SERVICE_PORT}"`);
  }
  throw new ServiceError(`${httpError.message}${hints.length ? ` (${hints.join("; ")})` : ""}`, { kind: "unreachable" });
}

/** "23.976 fps" from ticks per frame. */
function rateLabel(ticksPerFrame) {
  if (!ticksPerFrame) return "";
  const fps = 254016000000 / Number(ticksPerFrame);
  return `${Number(fps.toFixed(3))} fps`;
}

/**
 * @param {{host: ReturnType<typeof createPremiereHost>, connect: () => Promise<object>,
 *   files: object, platform: string, stateDir: string,
 *   pickSubtitles: () => Promise<string | null>, saveSettings?: (settings: object) => void,
 *   settings?: object, now: () => Date, sleep: (ms: number) => Promise<void>,
 *   render: (state: object) => void, pollMs?: number}} deps pollMs: milliseconds
 */
function createController(deps) {
  const { host, files, platform, stateDir, now, sleep, render, pollMs = 500 } = deps;
  const state = initialState(deps.settings || {});
  let connection = null;
  let active = { project: null, sequence: null };
  const show = () => render(state);

  async function connect() {
    try {
      connection = await deps.connect(state.settings);
      state.service = {
        state: "ok",
        message: connection.note,
        transport: connection.client.transport,
        version: String((connection.health && connection.health.version) || ""),
      };
    } catch (err) {
      connection = null;
      state.service = { state: "error", message: err.message, transport: "", version: "" };
    }
    return connection;
  }

  async function refresh() {
    state.error = "";
    try {
      active = await host.getActive();
      if (active.sequence) {
        const info = await host.describeSequence(active.sequence);
        state.sequence = { name: info.name, audioTrackCount: info.audioTrackCount, rateLabel: rateLabel(info.ticksPerFrame) };
      } else {
        state.sequence = null;
        state.sequenceMessage = active.project ? "Open a sequence in the Timeline." : "Open a project first.";
      }
    } catch (err) {
      state.sequence = null;
      state.sequenceMessage = `Premiere did not answer: ${err.message}`;
    }
    show();
    await connect();
    show();
  }

  async function chooseSubtitles() {
    const path = await deps.pickSubtitles();
    if (path) state.subtitles = { mode: "file", path };
    show();
  }

  /** Place a finished or cancelled job's done lines; fills state.result. */
  async function place(status) {
    const errors = [];
    const notes = [];
    const info = await host.describeSequence(active.sequence);
    const timeline = status.timeline || {};
    const serviceTpf = timeline.rate ? ticksPerFrameForRate(Number(timeline.rate)) : null;
    const ticksPerFrame = info.ticksPerFrame || serviceTpf;
    if (!ticksPerFrame) throw new Error("Neither the sequence nor the job says the frame rate");
    if (info.ticksPerFrame && serviceTpf && info.ticksPerFrame !== serviceTpf) {
      notes.push(`The sequence's frame rate differs from the exported timeline's (${timeline.rate} fps); lines follow the sequence.`);
    }
    if (info.zeroPointTicks !== null && Number.isSafeInteger(timeline.start_frames)) {
      const zeroFrames = ticksToFrames(info.zeroPointTicks, ticksPerFrame);
      if (zeroFrames !== timeline.start_frames) {
        notes.push(`The sequence starts at frame ${zeroFrames}, the exported timeline at ${timeline.start_frames}; lines are placed from the sequence start.`);
      }
    }
    const plan = planPlacement(status, { existingAudioTrackCount: info.audioTrackCount, ticksPerFrame });
    for (const line of plan.skipped) {
      if (line.state === "failed") errors.push(`${line.lineId} failed: ${line.reason}`);
    }
    const notRendered = plan.skipped.filter((line) => line.state !== "failed").length;
    if (notRendered) notes.push(`${notRendered} line${notRendered === 1 ? " was" : "s were"} not rendered.`);
    let placed = [];
    if (plan.placements.length) {
      const wavs = Array.from(new Set(plan.placements.map((placement) => placement.wav)));
      state.busy = `Importing ${wavs.length} WAVs…`;
      show();
      const binName = `Revoice - ${info.name} ${timeStamp(now())}`;
      const imported = await host.importWavs(active.project, wavs, binName);
      state.busy = "Placing lines…";
      show();
      const outcome = await host.placeLines({
        project: active.project,
        sequence: active.sequence,
        plan,
        itemsByPath: imported.itemsByPath,
      });
      placed = outcome.placed;
      for (const miss of outcome.missing) errors.push(`${miss.lineId}: ${miss.reason}`);
      const usedTracks = plan.tracks.filter((track) => placed.some((p) => p.audioTrackIndex === track.audioTrackIndex));
      try {
        const naming = await host.nameTracks({ project: active.project, sequence: active.sequence, tracks: usedTracks });
        if (naming.unnamed.length) notes.push(`Name these tracks by hand: ${naming.unnamed.join(", ")}.`);
      } catch (err) {
        notes.push(`The new tracks could not be named (${err.message}).`);
      }
      if (imported.binName) notes.push(`WAVs imported into the bin "${imported.binName}".`);
    }
    for (const warning of status.warnings || []) notes.push(String(warning));
    state.result = {
      ...(state.result || {}),
      placed,
      flagged: plan.flagged,
      errors,
      notes,
      placedDone: true,
    };
  }

  async function revoice() {
    if (state.view !== "idle" || state.busy) return;
    if (!active.sequence) {
      state.error = "Open a sequence in the Timeline first.";
      show();
      return;
    }
    if (state.subtitles.mode === "file" && !state.subtitles.path) {
      state.error = "Choose a subtitle file, or use the sequence markers.";
      show();
      return;
    }
    state.error = "";
    state.busy = "Connecting to the service…";
    show();
    let job = null;
    try {
      // Read service.json again: the service may have restarted on a new port or token.
      if (!(await connect())) throw new Error(state.service.message);
      const paths = runPaths({
        platform,
        projectPath: active.project && active.project.path,
        stateDir,
        sequenceName: state.sequence ? state.sequence.name : "sequence",
        date: now(),
      });
      await files.mkdirp(paths.folder);
      state.busy = "Exporting the sequence…";
      show();
      const exported = await host.exportSequence(active.sequence, paths.timelineStem);
      const request = buildJobRequest({
        timeline: exported.path,
        subtitles: state.subtitles.mode === "file" ? state.subtitles.path : null,
        out: paths.out,
      });
      state.busy = "Sending the job…";
      show();
      job = await connection.client.createJob(request);
    } catch (err) {
      state.busy = "";
      state.error = err.message;
      show();
      return;
    }
    state.view = "running";
    state.busy = "";
    state.job = job;
    state.cancelRequested = false;
    state.result = null;
    show();
    try {
      const final = await waitForJob(connection.client, job.id, {
        intervalMs: pollMs,
        sleep,
        onStatus: (status) => {
          state.job = status;
          show();
        },
      });
      state.job = final;
      if (final.state === "done") {
        await place(final);
      } else if (final.state === "cancelled") {
        const finishedCount = (final.lines || []).filter((line) => PLACEABLE_STATES.has(line.state)).length;
        state.result = { placed: [], flagged: [], errors: [], notes: [], cancelled: true, finishedCount, placedDone: false };
      } else {
        state.result = { placed: [], flagged: [], errors: [final.error || "The job failed."], notes: [] };
      }
    } catch (err) {
      state.result = { ...(state.result || {}), placed: [], flagged: [], errors: [err.message], notes: [] };
    }
    state.busy = "";
    state.view = "done";
    show();
  }

  async function cancel() {
    if (state.view !== "running" || !state.job || state.cancelRequested) return;
    state.cancelRequested = true;
    show();
    try {
      await connection.client.cancelJob(state.job.id);
    } catch (err) {
      state.cancelRequested = false;
      state.error = `Cancel failed: ${err.message}`;
      show();
    }
  }

  async function placeFinished() {
    if (state.view !== "done" || !state.job || !state.result || state.result.placedDone) return;
    try {
      await place(state.job);
      state.result.cancelled = true;
    } catch (err) {
      state.result.errors = [...(state.result.errors || []), err.message];
    }
    state.busy = "";
    show();
  }

  async function saveSettings(fields) {
    const port = String(fields.port || "").trim();
    const token = String(fields.token || "").trim();
    state.settings = port && token ? { port: Number(port), token } : {};
    if (deps.saveSettings) deps.saveSettings(state.settings);
    state.showSettings = false;
    await connect();
    show();
  }

  /** Run a view action ("revoice", "cancel", ...). */
  async function dispatch(action, fields = {}) {
    switch (action) {
      case "refresh":
        return refresh();
      case "use-markers":
        state.subtitles = { ...state.subtitles, mode: "markers" };
        return show();
      case "use-file":
        state.subtitles = { ...state.subtitles, mode: "file" };
        show();
        return state.subtitles.path ? undefined : chooseSubtitles();
      case "choose-subtitles":
        return chooseSubtitles();
      case "revoice":
        return revoice();
      case "cancel":
        return cancel();
      case "place-finished":
        return placeFinished();
      case "show-settings":
        state.showSettings = true;
        return show();
      case "save-settings":
        return saveSettings(fields);
      case "back":
        state.view = "idle";
        state.job = null;
        state.result = null;
        state.error = "";
        return refresh();
      default:
        return undefined;
    }
  }

  return { state, refresh, revoice, cancel, placeFinished, dispatch };
}

/**
 * Start the panel with the real modules (index.js) or stand-ins (tests).
 * @param {{ppro: object, uxp: object, fs: object, os: {platform(): string, homedir(): string},
 *   fetch: Function, root: HTMLElement, storage?: {getItem(key: string): string | null,
 *   setItem(key: string, value: string): void}, env?: Record<string, string>}} modules
 */
function bootPanel({ ppro, uxp, fs, os, fetch, root, storage, env = {} }) {
  const platform = os.platform();
  const stateDir = stateDirFor({ platform, homedir: os.homedir(), env });
  const files = createFileAccess({ fs, platform });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const makeId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  let settings = {};
  try {
    settings = JSON.parse((storage && storage.getItem("revoice.connection")) || "{}") || {};
  } catch (err) {
    settings = {};
  }
  let controller = null;
  const view = createView(root, (action, fields) => {
    controller.dispatch(action, fields).catch((err) => console.error("Revoice:", err));
  });
  controller = createController({
    host: createPremiereHost({ ppro, files }),
    connect: (current) => connectService({ files, platform, stateDir, settings: current, fetch, sleep, makeId }),
    files,
    platform,
    stateDir,
    settings,
    saveSettings: (value) => storage && storage.setItem("revoice.connection", JSON.stringify(value)),
    pickSubtitles: async () => {
      const file = await uxp.storage.localFileSystem.getFileForOpening({ types: ["srt", "vtt", "ass", "ssa"] });
      return file ? file.nativePath : null;
    },
    now: () => new Date(),
    sleep,
    render: view.render,
  });
  controller.refresh().catch((err) => console.error("Revoice:", err));
  return controller;
}

module.exports = { connectService, createController, bootPanel, rateLabel };
