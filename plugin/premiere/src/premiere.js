"use strict";
/**
 * The thin Premiere side of the panel: every call into the `premierepro`
 * module lives here, and only documented ones (AdobeDocs uxp-premiere-pro,
 * 2026-08): Project.getActiveProject / getActiveSequence / getRootItem /
 * importFiles / executeTransaction / lockedAccess, ProjectConverter
 * export, SequenceEditor.createOverwriteItemAction, TickTime.createWithTicks,
 * ClipProjectItem.cast / FolderItem.cast, AudioTrack.createSetNameAction.
 *
 * Version differences handled here:
 *  - ProjectConverter.exportAs* returned a boolean before 26.2 and a
 *    Promise<boolean> since: the answer is awaited either way.
 *  - From 26.3 edit actions are created inside project.lockedAccess() and
 *    run with project.executeTransaction(); older versions without
 *    lockedAccess run executeTransaction directly.
 */

const { parseTimebase } = require("./timeline.js");

/**
 * The video track index passed with each overwrite. The WAVs have no video,
 * so no video track receives anything; 0 is the index Adobe's samples use.
 */
const VIDEO_TRACK_INDEX_FOR_AUDIO = 0;

/**
 * A value that may be a Promise (26.2+) or a plain value (older).
 * @template T
 * @param {T | Promise<T>} value
 * @returns {Promise<T>}
 */
async function settle(value) {
  return value;
}

/**
 * Compare media paths the way the file systems Premiere runs on do
 * (case-insensitive on macOS and Windows by default), either separator.
 * @param {string} path
 * @returns {string}
 */
function pathKey(path) {
  return String(path).replace(/\\/g, "/").toLowerCase();
}

/**
 * @param {{ppro: object, files?: {exists(path: string): Promise<boolean>}}} options
 *   ppro: require("premierepro") or a stand-in; files: to check an export landed
 */
function createPremiereHost({ ppro, files }) {
  /**
   * Run edit actions as one undoable step named `label`.
   * @param {object} project
   * @param {string} label
   * @param {(compound: {addAction(action: object): void}) => void} addActions creates the
   *   actions; it runs inside lockedAccess when Premiere has it
   */
  async function runEdit(project, label, addActions) {
    let result;
    const transact = () => project.executeTransaction((compound) => addActions(compound), label);
    if (typeof project.lockedAccess === "function") {
      await settle(
        project.lockedAccess(() => {
          result = transact();
        }),
      );
    } else {
      result = transact();
    }
    if ((await settle(result)) === false) throw new Error(`Premiere refused the edit "${label}"`);
  }

  /**
   * The active project and sequence (either may be null).
   * @returns {Promise<{project: object | null, sequence: object | null}>}
   */
  async function getActive() {
    const project = await settle(ppro.Project.getActiveProject());
    if (!project) return { project: null, sequence: null };
    const sequence = await settle(project.getActiveSequence());
    return { project, sequence: sequence || null };
  }

  /**
   * What the placement needs to know about a sequence.
   * @param {object} sequence
   * @returns {Promise<{name: string, audioTrackCount: number, videoTrackCount: number,
   *   ticksPerFrame: bigint | null, zeroPointTicks: bigint | null}>}
   */
  async function describeSequence(sequence) {
    const audioTrackCount = Number(await settle(sequence.getAudioTrackCount()));
    const videoTrackCount = Number(await settle(sequence.getVideoTrackCount()));
    const timebase = typeof sequence.getTimebase === "function" ? await settle(sequence.getTimebase()) : null;
    const zeroPoint = typeof sequence.getZeroPoint === "function" ? await settle(sequence.getZeroPoint()) : null;
    return {
      name: String(sequence.name || "Sequence"),
      audioTrackCount,
      videoTrackCount,
      ticksPerFrame: parseTimebase(timebase),
      zeroPointTicks: zeroPoint === null ? null : parseTimebase(zeroPoint),
    };
  }

  /**
   * Export a sequence for the service: OpenTimelineIO, else FCP7 XML.
   * @param {object} sequence
   * @param {string} timelineStem path without extension
   * @returns {Promise<{path: string, format: "otio" | "fcp7xml", problems: string[]}>}
   */
  async function exportSequence(sequence, timelineStem) {
    const converter = ppro.ProjectConverter || {};
    const attempts = [
      { format: "otio", ext: "otio", method: "exportAsOpenTimelineIO" },
      { format: "fcp7xml", ext: "xml", method: "exportAsFinalCutProXML" },
    ].filter((attempt) => typeof converter[attempt.method] === "function");
    const problems = [];
    for (const attempt of attempts) {
      const path = `${timelineStem}.${attempt.ext}`;
      let ok;
      try {
        ok = await settle(converter[attempt.method](sequence, path, true));
      } catch (err) {
        problems.push(`${attempt.method} failed: ${(err && err.message) || err}`);
        continue;
      }
      if (ok === false) {
        problems.push(`${attempt.method} returned false`);
        continue;
      }
      if (files && !(await files.exists(path))) {
        problems.push(`${attempt.method} wrote no file at ${path}`);
        continue;
      }
      return { path, format: attempt.format, problems };
    }
    if (!attempts.length) problems.push("this Premiere has no ProjectConverter export");
    throw new Error(`Premiere could not export the sequence: ${problems.join("; ")}`);
  }

  async function childrenOf(container) {
    if (!container || typeof container.getItems !== "function") return [];
    return Array.from((await settle(container.getItems())) || []);
  }

  async function findBin(root, name) {
    for (const item of await childrenOf(root)) {
      if (item && item.name === name) {
        const folder = ppro.FolderItem.cast(item);
        if (folder) return folder;
      }
    }
    return null;
  }

  /**
   * The clip project items whose media is one of `paths`.
   * @param {object} container bin to search (and its sub-bins)
   * @param {string[]} paths
   * @returns {Promise<Map<string, object>>} pathKey -> ClipProjectItem
   */
  async function findClips(container, paths) {
    const wanted = new Set(paths.map(pathKey));
    const found = new Map();
    const queue = await childrenOf(container);
    while (queue.length && found.size < wanted.size) {
      const item = queue.shift();
      const clip = ppro.ClipProjectItem.cast(item);
      if (clip) {
        const mediaPath = await settle(clip.getMediaFilePath());
        const key = mediaPath ? pathKey(mediaPath) : "";
        if (wanted.has(key) && !found.has(key)) found.set(key, clip);
        continue;
      }
      const folder = ppro.FolderItem.cast(item);
      if (folder) queue.push(...(await childrenOf(folder)));
    }
    return found;
  }

  /**
   * Import WAVs into a new bin (the project root when a bin cannot be made)
   * and find their project items.
   * @param {object} project
   * @param {string[]} paths
   * @param {string} binName
   * @returns {Promise<{binName: string | null, itemsByPath: Map<string, object>}>}
   *   itemsByPath keys are pathKey(path)
   */
  async function importWavs(project, paths, binName) {
    const root = await settle(project.getRootItem());
    let bin = null;
    if (root && typeof root.createBinAction === "function") {
      try {
        await runEdit(project, `Revoice: bin ${binName}`, (compound) => {
          compound.addAction(root.createBinAction(binName, true));
        });
        bin = await findBin(root, binName);
      } catch (err) {
        bin = null;
      }
    }
    const ok = await settle(project.importFiles(paths, true, bin || undefined, false));
    if (ok === false) throw new Error(`Premiere could not import the ${paths.length} revoiced WAVs`);
    const itemsByPath = await findClips(bin || root, paths);
    return { binName: bin ? binName : null, itemsByPath };
  }

  /**
   * Overwrite each planned line onto its new audio track at its tick, as one
   * undoable step "Revoice".
   * @param {{project: object, sequence: object,
   *   plan: ReturnType<typeof import("./timeline.js").planPlacement>,
   *   itemsByPath: Map<string, object>}} placement
   * @returns {Promise<{placed: object[], missing: Array<{lineId: string, reason: string}>}>}
   */
  async function placeLines({ project, sequence, plan, itemsByPath }) {
    const editor = ppro.SequenceEditor.getEditor(sequence);
    const ready = [];
    const missing = [];
    for (const placement of plan.placements) {
      const item = itemsByPath.get(pathKey(placement.wav));
      if (!item) {
        missing.push({ lineId: placement.lineId, reason: `Premiere did not import ${placement.wav}` });
        continue;
      }
      ready.push({ placement, item, time: ppro.TickTime.createWithTicks(placement.ticks) });
    }
    if (ready.length) {
      await runEdit(project, "Revoice", (compound) => {
        for (const { placement, item, time } of ready) {
          compound.addAction(
            editor.createOverwriteItemAction(item, time, VIDEO_TRACK_INDEX_FOR_AUDIO, placement.audioTrackIndex),
          );
        }
      });
    }
    return { placed: ready.map((entry) => entry.placement), missing };
  }

  /**
   * Name the new audio tracks "Revoice - <speaker>" where this Premiere can.
   * @param {{project: object, sequence: object, tracks: Array<{audioTrackIndex: number, name: string}>}} naming
   * @returns {Promise<{named: string[], unnamed: string[]}>}
   */
  async function nameTracks({ project, sequence, tracks }) {
    const targets = [];
    const unnamed = [];
    for (const { audioTrackIndex, name } of tracks) {
      const track =
        typeof sequence.getAudioTrack === "function" ? await settle(sequence.getAudioTrack(audioTrackIndex)) : null;
      if (track && typeof track.createSetNameAction === "function") targets.push({ track, name });
      else unnamed.push(name);
    }
    if (targets.length) {
      await runEdit(project, "Revoice: name tracks", (compound) => {
        for (const { track, name } of targets) compound.addAction(track.createSetNameAction(name));
      });
    }
    return { named: targets.map((target) => target.name), unnamed };
  }

  return { runEdit, getActive, describeSequence, exportSequence, importWavs, placeLines, nameTracks };
}

module.exports = { VIDEO_TRACK_INDEX_FOR_AUDIO, settle, pathKey, createPremiereHost };
