"use strict";
/**
 * A stand-in for Premiere's `premierepro` UXP module: exactly the documented
 * calls the panel uses, recording every call. It also keeps a tiny model of
 * the sequence (audio tracks and the clips on them) so a test can check
 * where each WAV landed and that the editor's tracks were left alone.
 *
 * Behaviours it copies from the documentation:
 *  - ProjectConverter exports return a boolean (before 26.2) or a Promise of
 *    one (26.2+), by `exportReturns`.
 *  - In "26.3" mode (`lockedAccess: true`) creating an edit action or running
 *    a transaction outside project.lockedAccess() throws; in older mode the
 *    project has no lockedAccess at all.
 *  - An audio track index past the last track creates a track.
 * Not Premiere: it is a model of the documented surface, nothing more.
 */

const fs = require("fs");

/**
 * @param {{sequenceName?: string, projectPath?: string | null, audioTracks?: number, videoTracks?: number,
 *   timebase?: string, zeroPoint?: string | null, exportReturns?: "boolean" | "promise",
 *   otioExport?: boolean | "missing" | "throw", fcpExport?: boolean | "missing",
 *   lockedAccess?: boolean, canNameTracks?: boolean, canCreateBin?: boolean,
 *   writeExports?: boolean, exportSources?: {otio?: string, xml?: string}, activeSequence?: boolean}} options
 *   timebase: ticks per frame as Sequence.getTimebase() gives it; zeroPoint: ticks;
 *   exportSources: real files an export copies (else it writes a placeholder)
 */
function createPremiereStandIn(options = {}) {
  const {
    sequenceName = "Reel 1",
    projectPath = "/projects/Film/Film.prproj",
    audioTracks = 2,
    videoTracks = 1,
    timebase = "10594584000",
    zeroPoint = null,
    exportReturns = "promise",
    otioExport = true,
    fcpExport = true,
    lockedAccess = true,
    canNameTracks = true,
    canCreateBin = true,
    writeExports = true,
    exportSources = {},
    activeSequence = true,
  } = options;

  const calls = [];
  const transactions = [];
  let insideLock = false;
  const record = (name, args) => calls.push({ name, args });
  const answer = (value) => (exportReturns === "promise" ? Promise.resolve(value) : value);
  const requireLock = (what) => {
    if (lockedAccess && !insideLock) throw new Error(`${what} outside project.lockedAccess() (required since 26.3)`);
  };

  function makeTrack(index, name) {
    const track = { index, name, clips: [] };
    if (canNameTracks) {
      track.createSetNameAction = (newName) => {
        record("AudioTrack.createSetNameAction", [index, newName]);
        requireLock("AudioTrack.createSetNameAction");
        return { type: "setTrackName", track, name: newName };
      };
    }
    return track;
  }

  const tracks = Array.from({ length: audioTracks }, (_, i) => makeTrack(i, `Audio ${i + 1}`));
  tracks.forEach((track, i) => track.clips.push({ name: `original_A${i + 1}.wav`, startTicks: "0", original: true }));

  function makeBin(name) {
    const bin = { kind: "bin", name, children: [] };
    bin.getItems = async () => {
      record("FolderItem.getItems", [name]);
      return bin.children.slice();
    };
    return bin;
  }
  const root = makeBin("root");
  if (canCreateBin) {
    root.createBinAction = (name, makeUnique) => {
      record("FolderItem.createBinAction", [name, makeUnique]);
      requireLock("FolderItem.createBinAction");
      return { type: "createBin", name };
    };
  }

  const sequence = {
    name: sequenceName,
    tracks,
    getAudioTrackCount: async () => (record("Sequence.getAudioTrackCount", []), tracks.length),
    getVideoTrackCount: async () => (record("Sequence.getVideoTrackCount", []), videoTracks),
    getTimebase: async () => (record("Sequence.getTimebase", []), timebase),
    getAudioTrack: async (index) => (record("Sequence.getAudioTrack", [index]), tracks[index] || null),
  };
  if (zeroPoint !== null) {
    sequence.getZeroPoint = async () => (record("Sequence.getZeroPoint", []), { ticks: zeroPoint });
  }

  function apply(action) {
    if (action.type === "overwrite") {
      while (tracks.length <= action.audioTrackIndex) tracks.push(makeTrack(tracks.length, `Audio ${tracks.length + 1}`));
      tracks[action.audioTrackIndex].clips.push({
        name: action.item.name,
        mediaPath: action.item.mediaPath,
        startTicks: action.time.ticks,
      });
    } else if (action.type === "createBin") {
      root.children.push(makeBin(action.name));
    } else if (action.type === "setTrackName") {
      action.track.name = action.name;
    }
  }

  const project = {
    name: "Film",
    path: projectPath,
    getActiveSequence: async () => (record("Project.getActiveSequence", []), activeSequence ? sequence : null),
    getRootItem: async () => (record("Project.getRootItem", []), root),
    importFiles(paths, suppressUI, targetBin, asNumberedStills) {
      record("Project.importFiles", [paths.slice(), suppressUI, targetBin ? targetBin.name : targetBin, asNumberedStills]);
      const into = targetBin || root;
      for (const mediaPath of paths) {
        const item = {
          kind: "clip",
          name: mediaPath.slice(Math.max(mediaPath.lastIndexOf("/"), mediaPath.lastIndexOf("\\")) + 1),
          mediaPath,
          getMediaFilePath: async () => mediaPath,
        };
        into.children.push(item);
      }
      return answer(true);
    },
    executeTransaction(build, label) {
      record("Project.executeTransaction", [label]);
      requireLock("Project.executeTransaction");
      const compound = {
        actions: [],
        addAction(action) {
          this.actions.push(action);
        },
      };
      build(compound);
      compound.actions.forEach(apply);
      transactions.push({ label, actions: compound.actions, locked: insideLock });
      return true;
    },
  };
  if (lockedAccess) {
    project.lockedAccess = (callback) => {
      record("Project.lockedAccess", []);
      insideLock = true;
      try {
        callback();
      } finally {
        insideLock = false;
      }
    };
  }

  function exporter(method, setting, format) {
    return (seq, path, suppressUI) => {
      record(`ProjectConverter.${method}`, [seq.name, path, suppressUI]);
      if (setting === "throw") throw new Error(`${format} export is not available`);
      if (setting && writeExports) {
        if (exportSources[format]) fs.copyFileSync(exportSources[format], path);
        else fs.writeFileSync(path, format === "otio" ? '{"OTIO_SCHEMA": "Timeline.1"}' : "<xmeml/>");
      }
      return answer(Boolean(setting));
    };
  }
  const ProjectConverter = {};
  if (otioExport !== "missing") ProjectConverter.exportAsOpenTimelineIO = exporter("exportAsOpenTimelineIO", otioExport, "otio");
  if (fcpExport !== "missing") ProjectConverter.exportAsFinalCutProXML = exporter("exportAsFinalCutProXML", fcpExport, "xml");

  const ppro = {
    Project: { getActiveProject: async () => (record("Project.getActiveProject", []), project) },
    ProjectConverter,
    SequenceEditor: {
      getEditor(seq) {
        record("SequenceEditor.getEditor", [seq.name]);
        return {
          createOverwriteItemAction(item, time, videoTrackIndex, audioTrackIndex) {
            record("SequenceEditor.createOverwriteItemAction", [item.mediaPath, time.ticks, videoTrackIndex, audioTrackIndex]);
            requireLock("SequenceEditor.createOverwriteItemAction");
            return { type: "overwrite", item, time, videoTrackIndex, audioTrackIndex };
          },
        };
      },
    },
    TickTime: {
      createWithTicks(ticks) {
        record("TickTime.createWithTicks", [ticks]);
        if (typeof ticks !== "string" || !/^\d+$/.test(ticks)) throw new TypeError(`ticks must be a digit string, got ${ticks}`);
        return { ticks };
      },
    },
    ClipProjectItem: { cast: (item) => (item && item.kind === "clip" ? item : null) },
    FolderItem: { cast: (item) => (item && item.kind === "bin" ? item : null) },
  };

  return {
    ppro,
    project,
    sequence,
    root,
    calls,
    transactions,
    /** The calls named `name`, as argument lists. */
    callsTo: (name) => calls.filter((call) => call.name === name).map((call) => call.args),
  };
}

module.exports = { createPremiereStandIn };
