"use strict";
/**
 * The panel's view: panel state in, HTML out (`renderHtml` is pure), and a
 * small binder that puts it in the panel and turns clicks on
 * [data-action] elements into controller calls.
 *
 * Panel state (owned by app.js; `initialState()` is the one it starts from):
 *   view: "idle" | "running" | "done"
 *   sequence: {name, rateLabel, audioTrackCount} | null, sequenceMessage
 *   service: {state: "unknown" | "ok" | "error", message, transport, version}
 *   subtitles: {mode: "markers" | "file", path}
 *   settings: {port, token}, showSettings
 *   busy: what runs now ("Exporting the sequence…"), error: one line
 *   job: the service's job status (lines with state and flags), cancelRequested
 *   result: {placed, flagged, errors, notes, cancelled, finishedCount, placedDone}
 */

/**
 * A panel state before anything is known: no sequence, the service not yet asked, no job.
 * @param {object} [settings] the saved settings ({port, token}); copied
 */
function initialState(settings = {}) {
  return {
    view: "idle",
    sequence: null,
    sequenceMessage: "",
    service: { state: "unknown", message: "", transport: "", version: "" },
    subtitles: { mode: "markers", path: "" },
    settings: { ...settings },
    showSettings: false,
    busy: "",
    error: "",
    job: null,
    cancelRequested: false,
    result: null,
  };
}

/** The short label and CSS class of each line state. */
const LINE_STATES = {
  pending: { label: "waiting", css: "pending" },
  rendering: { label: "rendering", css: "rendering" },
  done: { label: "done", css: "done" },
  cached: { label: "reused", css: "done" },
  failed: { label: "failed", css: "failed" },
  cancelled: { label: "cancelled", css: "cancelled" },
};

/**
 * @param {unknown} value
 * @returns {string} HTML-escaped text
 */
function escapeHtml(value) {
  return String(value === undefined || value === null ? "" : value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function fileName(path) {
  const text = String(path || "");
  return text.slice(Math.max(text.lastIndexOf("/"), text.lastIndexOf("\\")) + 1);
}

function flagChips(flags) {
  return (flags || []).map((flag) => `<span class="chip flag">${escapeHtml(flag)}</span>`).join("");
}

function renderHeader(state) {
  const service = state.service || { state: "unknown", message: "" };
  const dot = service.state === "ok" ? "ok" : service.state === "error" ? "error" : "unknown";
  let text = "checking the service…";
  if (service.state === "ok") {
    text = `service ${escapeHtml(service.version || "")}${service.transport === "spool" ? " · file spool" : ""}`;
  } else if (service.state === "error") {
    text = "service unavailable";
  }
  return (
    `<header class="bar"><span class="title">Revoice</span>` +
    `<span class="status"><span class="dot ${dot}"></span>${text}</span></header>`
  );
}

function renderError(message) {
  return message ? `<div class="message error" role="alert">${escapeHtml(message)}</div>` : "";
}

function renderSettings(state) {
  const settings = state.settings || {};
  return (
    `<section class="card settings">` +
    `<div class="label">Connection</div>` +
    `<div class="row"><span class="field-label">Port</span>` +
    `<input data-field="port" type="text" value="${escapeHtml(settings.port || "")}" placeholder="from service.json"></div>` +
    `<div class="row"><span class="field-label">Token</span>` +
    `<input data-field="token" type="text" value="${escapeHtml(settings.token || "")}" placeholder="from service.json"></div>` +
    `<div class="row end"><button class="quiet" data-action="save-settings">Connect</button></div>` +
    `</section>`
  );
}

function renderIdle(state) {
  const sequence = state.sequence;
  const subtitles = state.subtitles || { mode: "markers", path: "" };
  const service = state.service || {};
  const sequenceCard = sequence
    ? `<div class="seq-name">${escapeHtml(sequence.name)}</div>` +
      `<div class="meta">${escapeHtml(sequence.rateLabel || "")}${sequence.rateLabel ? " · " : ""}` +
      `${escapeHtml(sequence.audioTrackCount)} audio tracks</div>`
    : `<div class="meta">${escapeHtml(state.sequenceMessage || "Open a sequence in the Timeline.")}</div>`;
  const markers = subtitles.mode !== "file";
  const pickedName = subtitles.path ? escapeHtml(fileName(subtitles.path)) : "no file chosen";
  const canRun = Boolean(sequence) && service.state !== "error" && !state.busy && (markers || subtitles.path);
  const firstNew = sequence ? `A${Number(sequence.audioTrackCount) + 1}` : "the last track";
  return (
    `<section class="card">` +
    `<div class="row spread"><div class="label">Sequence</div>` +
    `<button class="quiet small" data-action="refresh">Refresh</button></div>${sequenceCard}</section>` +
    `<section class="card">` +
    `<div class="label">Lines from</div>` +
    `<div class="segmented">` +
    `<button class="${markers ? "on" : ""}" data-action="use-markers">Sequence markers</button>` +
    `<button class="${markers ? "" : "on"}" data-action="use-file">Subtitle file</button></div>` +
    (markers
      ? `<div class="meta hint">Each marker with a duration is one line: its comment is the text, "NAME: text" sets the speaker.</div>`
      : `<div class="row"><span class="file ${subtitles.path ? "" : "none"}">${pickedName}</span>` +
        `<button class="quiet small" data-action="choose-subtitles">Choose…</button></div>`) +
    `</section>` +
    renderError(state.error) +
    (service.state === "error" ? renderError(service.message) : "") +
    (service.state === "error" || state.showSettings ? renderSettings(state) : "") +
    `<button class="primary wide" data-action="revoice"${canRun ? "" : " disabled"}>` +
    `${state.busy ? escapeHtml(state.busy) : "Revoice"}</button>` +
    `<p class="note">Revoiced lines go on new audio tracks from ${escapeHtml(firstNew)} on; ` +
    `existing tracks are never changed.</p>` +
    (state.showSettings || service.state === "error"
      ? ""
      : `<button class="link" data-action="show-settings">Connection settings</button>`)
  );
}

function renderLine(line) {
  const known = LINE_STATES[line.state] || { label: line.state, css: "pending" };
  return (
    `<li class="line ${known.css}">` +
    `<div class="line-head"><span class="chip state ${known.css}">${escapeHtml(known.label)}</span>` +
    `<span class="id">${escapeHtml(line.line_id)}</span>` +
    `<span class="tc">${escapeHtml(line.timecode || "")}</span>` +
    `<span class="speaker">${escapeHtml(line.speaker || "")}</span></div>` +
    `<div class="text">${escapeHtml(line.text || "")}</div>` +
    (line.flags && line.flags.length ? `<div class="flags">${flagChips(line.flags)}</div>` : "") +
    (line.message && line.state === "failed" ? `<div class="why">${escapeHtml(line.message)}</div>` : "") +
    `</li>`
  );
}

function renderRunning(state) {
  const job = state.job || { done: 0, total: 0, lines: [], label: "" };
  const total = Number(job.total) || 0;
  const done = Number(job.done) || 0;
  const percent = total ? Math.round((done / total) * 100) : 0;
  const sequenceName = state.sequence ? state.sequence.name : "";
  return (
    `<section class="card">` +
    `<div class="row spread"><div class="label">Revoicing ${escapeHtml(sequenceName)}</div>` +
    `<div class="count">${done} / ${total}</div></div>` +
    `<div class="progress"><div class="fill" style="width: ${percent}%"></div></div>` +
    `<div class="meta">${escapeHtml(state.busy || (job.state === "queued" ? "Waiting for the job before it…" : job.label || ""))}</div></section>` +
    renderError(state.error) +
    `<ul class="lines">${(job.lines || []).map(renderLine).join("")}</ul>` +
    `<button class="secondary wide" data-action="cancel"${state.cancelRequested ? " disabled" : ""}>` +
    `${state.cancelRequested ? "Cancelling…" : "Cancel"}</button>`
  );
}

function renderDone(state) {
  const result = state.result || { placed: [], flagged: [], errors: [], notes: [] };
  const placed = result.placed || [];
  const flagged = result.flagged || [];
  const errors = result.errors || [];
  const notes = result.notes || [];
  const trackCount = new Set(placed.map((line) => line.trackName)).size;
  let headline = `${placed.length} line${placed.length === 1 ? "" : "s"} placed on ${trackCount} new track${
    trackCount === 1 ? "" : "s"
  }`;
  if (result.cancelled && !result.placedDone) headline = `Cancelled: ${result.finishedCount || 0} lines finished`;
  else if (!placed.length && errors.length) headline = "Nothing was placed";
  const section = (title, css, body) =>
    `<section class="card ${css}"><div class="label">${escapeHtml(title)}</div>${body}</section>`;
  return (
    `<section class="card summary ${errors.length ? "has-errors" : ""}">` +
    `<div class="headline">${escapeHtml(headline)}</div>` +
    notes.map((note) => `<div class="meta">${escapeHtml(note)}</div>`).join("") +
    `</section>` +
    (placed.length
      ? section(
          `Placed (${placed.length})`,
          "placed",
          `<ul class="rows">${placed
            .map(
              (line) =>
                `<li><span class="id">${escapeHtml(line.lineId)}</span>` +
                `<span class="tc">${escapeHtml(line.timecode)}</span>` +
                `<span class="track">A${Number(line.audioTrackIndex) + 1} ${escapeHtml(line.trackName)}</span></li>`,
            )
            .join("")}</ul>`,
        )
      : "") +
    (flagged.length
      ? section(
          `Flagged (${flagged.length})`,
          "flagged",
          `<ul class="rows">${flagged
            .map(
              (line) =>
                `<li><span class="id">${escapeHtml(line.lineId)}</span>${flagChips(line.flags)}` +
                (line.message ? `<div class="why">${escapeHtml(line.message)}</div>` : "") +
                `</li>`,
            )
            .join("")}</ul>`,
        )
      : "") +
    (errors.length
      ? section(
          `Errors (${errors.length})`,
          "errors",
          `<ul class="rows">${errors.map((error) => `<li class="err">${escapeHtml(error)}</li>`).join("")}</ul>`,
        )
      : "") +
    (result.cancelled && !result.placedDone && result.finishedCount
      ? `<button class="primary wide" data-action="place-finished">Place ${result.finishedCount} finished lines</button>`
      : "") +
    `<button class="secondary wide" data-action="back">Done</button>`
  );
}

/**
 * The whole panel's HTML for a state.
 * @param {object} state
 * @returns {string}
 */
function renderHtml(state) {
  const view = state.view === "running" ? renderRunning : state.view === "done" ? renderDone : renderIdle;
  return `${renderHeader(state)}<main class="view ${escapeHtml(state.view || "idle")}">${view(state)}</main>`;
}

/**
 * Bind the view to a panel element.
 * @param {HTMLElement} root
 * @param {(action: string, fields: Record<string, string>) => void} onAction
 * @returns {{render(state: object): void}}
 */
function createView(root, onAction) {
  root.addEventListener("click", (event) => {
    let node = event.target;
    while (node && node !== root && !(node.getAttribute && node.getAttribute("data-action"))) node = node.parentNode;
    if (!node || node === root || node.disabled) return;
    const fields = {};
    for (const input of Array.from(root.querySelectorAll("[data-field]"))) {
      fields[input.getAttribute("data-field")] = input.value;
    }
    onAction(node.getAttribute("data-action"), fields);
  });
  return {
    render(state) {
      root.innerHTML = renderHtml(state);
    },
  };
}

module.exports = { LINE_STATES, escapeHtml, initialState, renderHtml, createView };
