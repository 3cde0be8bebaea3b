"use strict";
/**
 * Timeline math for the Premiere panel: frames <-> Premiere ticks, and the
 * per-line placement plan (which WAV goes on which new audio track at which
 * tick). Pure: no Premiere, no UXP, no I/O.
 *
 * Units: Premiere counts time in ticks, 254016000000 per second. The service
 * reports every line's `record_start` / `record_duration` in frames at
 * `timeline.rate`, counted from the timeline's first frame (see
 * docs/service-api.md), so a sequence that starts at 01:00:00:00 still places
 * its first frame at tick 0: the start timecode is a display offset (the
 * sequence's "zero point"), not a position.
 */

/** Premiere ticks per second (BigInt). */
const TICKS_PER_SECOND = 254016000000n;

/** Line states whose WAV is on disk and can be placed. */
const PLACEABLE_STATES = new Set(["done", "cached"]);

/**
 * An exact frame rate as a fraction, from the float the service reports.
 * NTSC rates (23.976, 29.97, 59.94, ... to within 0.0005 fps, so a rounded
 * "23.976" counts) become n*1000/1001.
 * @param {number} rate frames per second
 * @returns {{num: number, den: number}}
 */
function rateToRational(rate) {
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) {
    throw new RangeError(`not a frame rate: ${rate}`);
  }
  const whole = Math.round(rate);
  if (Math.abs(rate - whole) < 1e-9) return { num: whole, den: 1 };
  const ntsc = Math.round((rate * 1001) / 1000);
  if (Math.abs(rate - (ntsc * 1000) / 1001) < 5e-4) return { num: ntsc * 1000, den: 1001 };
  return { num: Math.round(rate * 1000), den: 1000 };
}

/**
 * Ticks per frame at a frame rate (BigInt), rounded to the nearest tick when
 * the rate does not divide a second evenly (every rate Premiere offers does).
 * @param {number} rate frames per second
 * @returns {bigint}
 */
function ticksPerFrameForRate(rate) {
  const { num, den } = rateToRational(rate);
  const numerator = TICKS_PER_SECOND * BigInt(den);
  const divisor = BigInt(num);
  return (numerator + divisor / 2n) / divisor;
}

/**
 * Read `Sequence.getTimebase()`'s answer (ticks per frame, documented as a
 * string) as a BigInt; null when it is missing or not a positive integer.
 * @param {unknown} value
 * @returns {bigint | null}
 */
function parseTimebase(value) {
  let raw = value;
  if (raw && typeof raw === "object") {
    raw = raw.ticks !== undefined ? raw.ticks : raw.ticksNumber;
  }
  if (typeof raw === "bigint") return raw > 0n ? raw : null;
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw > 0) return BigInt(raw);
  if (typeof raw === "string" && /^\d+$/.test(raw.trim())) {
    const parsed = BigInt(raw.trim());
    return parsed > 0n ? parsed : null;
  }
  return null;
}

/**
 * A frame count as Premiere ticks.
 * @param {number} frames whole frames, >= 0
 * @param {bigint} ticksPerFrame
 * @returns {bigint}
 */
function framesToTicks(frames, ticksPerFrame) {
  if (!Number.isSafeInteger(frames) || frames < 0) {
    throw new RangeError(`frames must be a whole number >= 0, got ${frames}`);
  }
  return BigInt(frames) * ticksPerFrame;
}

/**
 * Ticks as whole frames (rounded down).
 * @param {bigint} ticks
 * @param {bigint} ticksPerFrame
 * @returns {number}
 */
function ticksToFrames(ticks, ticksPerFrame) {
  return Number(ticks / ticksPerFrame);
}

/**
 * The name of the track a line belongs on: the service's `track`, else
 * "Revoice - <speaker>".
 * @param {{track?: string, speaker?: string}} line
 * @returns {string}
 */
function trackNameForLine(line) {
  if (line.track) return String(line.track);
  return `Revoice - ${line.speaker || "Voice"}`;
}

/**
 * Spread one track's lines over lanes so that no two overlap (a lane is one
 * audio track): greedy, in record order.
 * @param {Array<{recordStart: number, recordDuration: number}>} lines sorted by recordStart
 * @returns {number[]} the lane of each line
 */
function assignLanes(lines) {
  const laneEnds = [];
  return lines.map((line) => {
    let lane = laneEnds.findIndex((end) => end <= line.recordStart);
    if (lane < 0) {
      lane = laneEnds.length;
      laneEnds.push(0);
    }
    laneEnds[lane] = line.recordStart + line.recordDuration;
    return lane;
  });
}

/**
 * The placement plan for a finished (or cancelled) job.
 *
 * Every placeable line (state done/cached, with a WAV) goes on a NEW audio
 * track: indices start at `existingAudioTrackCount`, past the editor's last
 * track, so no existing track is touched. One track per service track name
 * ("Revoice - <speaker>"; the service already names a speaker's overlapping
 * lines' track "Revoice - <speaker> 2"); should two lines on one track name
 * still overlap, the later one goes on an extra lane "<name> 2". Placements are ordered
 * by track index, then record start, so each new index is one past the
 * previous when Premiere creates the track.
 *
 * @param {{lines?: Array<object>}} status job status from GET /jobs/{id}
 * @param {{existingAudioTrackCount: number, ticksPerFrame: bigint}} options
 * @returns {{
 *   tracks: Array<{audioTrackIndex: number, name: string}>,
 *   placements: Array<{lineId: string, speaker: string, text: string, timecode: string,
 *     wav: string, recordStart: number, recordDuration: number, ticks: string,
 *     audioTrackIndex: number, trackName: string, flags: string[]}>,
 *   skipped: Array<{lineId: string, state: string, reason: string}>,
 *   flagged: Array<{lineId: string, flags: string[], message: string}>,
 * }}
 */
function planPlacement(status, { existingAudioTrackCount, ticksPerFrame }) {
  if (!Number.isSafeInteger(existingAudioTrackCount) || existingAudioTrackCount < 0) {
    throw new RangeError(`existingAudioTrackCount must be >= 0, got ${existingAudioTrackCount}`);
  }
  if (typeof ticksPerFrame !== "bigint" || ticksPerFrame <= 0n) {
    throw new RangeError("ticksPerFrame must be a positive BigInt");
  }
  const lines = Array.isArray(status && status.lines) ? status.lines : [];
  const skipped = [];
  const flagged = [];
  const byTrack = new Map();
  for (const line of lines) {
    const lineId = String(line.line_id);
    const flags = Array.isArray(line.flags) ? line.flags.map(String) : [];
    if (flags.length) flagged.push({ lineId, flags, message: String(line.message || "") });
    if (!PLACEABLE_STATES.has(line.state)) {
      skipped.push({ lineId, state: String(line.state), reason: line.message || `line is ${line.state}` });
      continue;
    }
    if (!line.wav) {
      skipped.push({ lineId, state: String(line.state), reason: "the service reported no WAV" });
      continue;
    }
    const recordStart = Number(line.record_start);
    const recordDuration = Number(line.record_duration);
    if (!Number.isSafeInteger(recordStart) || recordStart < 0 || !Number.isSafeInteger(recordDuration)) {
      skipped.push({ lineId, state: String(line.state), reason: "no record frames" });
      continue;
    }
    const name = trackNameForLine(line);
    if (!byTrack.has(name)) byTrack.set(name, []);
    byTrack.get(name).push({
      lineId,
      speaker: String(line.speaker || ""),
      text: String(line.text || ""),
      timecode: String(line.timecode || ""),
      wav: String(line.wav),
      recordStart,
      recordDuration: Math.max(0, recordDuration),
      flags,
    });
  }

  const groups = [];
  for (const [name, trackLines] of byTrack) {
    trackLines.sort((a, b) => a.recordStart - b.recordStart || a.lineId.localeCompare(b.lineId));
    const lanes = assignLanes(trackLines);
    const laneCount = Math.max(...lanes) + 1;
    for (let lane = 0; lane < laneCount; lane += 1) {
      const laneLines = trackLines.filter((_, i) => lanes[i] === lane);
      groups.push({
        name: lane === 0 ? name : `${name} ${lane + 1}`,
        firstStart: laneLines[0].recordStart,
        lane,
        lines: laneLines,
      });
    }
  }
  groups.sort((a, b) => a.firstStart - b.firstStart || a.name.localeCompare(b.name));

  const tracks = [];
  const placements = [];
  groups.forEach((group, i) => {
    const audioTrackIndex = existingAudioTrackCount + i;
    tracks.push({ audioTrackIndex, name: group.name });
    for (const line of group.lines) {
      placements.push({
        ...line,
        ticks: framesToTicks(line.recordStart, ticksPerFrame).toString(),
        audioTrackIndex,
        trackName: group.name,
      });
    }
  });
  return { tracks, placements, skipped, flagged };
}

module.exports = {
  TICKS_PER_SECOND,
  PLACEABLE_STATES,
  rateToRational,
  ticksPerFrameForRate,
  parseTimebase,
  framesToTicks,
  ticksToFrames,
  trackNameForLine,
  assignLanes,
  planPlacement,
};
