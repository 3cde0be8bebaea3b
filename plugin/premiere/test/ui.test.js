"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");

const { renderHtml, escapeHtml, createView } = require("../src/ui.js");
const demo = require("../harness/demo-states.js");

test("text from timelines and the service is escaped", () => {
  assert.equal(escapeHtml(`<b onclick="x">&'`), "&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;");
  const state = demo.running();
  state.job.lines[0].text = "<img src=x onerror=alert(1)>";
  state.job.lines[0].flags = ["<script>"];
  const html = renderHtml(state);
  assert.ok(!html.includes("<img src=x"));
  assert.ok(!html.includes("<script>"));
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
});

test("idle: sequence, lines source, Revoice button and where tracks go", () => {
  const html = renderHtml(demo.idle());
  assert.match(html, /Reel 3 - Harbour/);
  assert.match(html, /23\.976 fps · 4 audio tracks/);
  assert.match(html, /data-action="revoice">Revoice<\/button>/);
  assert.match(html, /new audio tracks from A5 on/);
  assert.match(html, /class="on" data-action="use-markers"/);
});

test("idle without a sequence or service disables Revoice", () => {
  const state = demo.idle();
  state.sequence = null;
  assert.match(renderHtml(state), /data-action="revoice" disabled/);
  const offline = demo.idle();
  offline.service = { state: "error", message: "Cannot reach the Revoice service" };
  const html = renderHtml(offline);
  assert.match(html, /data-action="revoice" disabled/);
  assert.match(html, /Cannot reach the Revoice service/);
  assert.match(html, /data-field="token"/);
});

test("running: progress, one row per line with state and flags, Cancel", () => {
  const state = demo.running();
  state.job.lines[1].flags = ["ratio 1.31 outside 0.80-1.25 of natural speed"];
  const html = renderHtml(state);
  assert.match(html, /3 \/ 7/);
  assert.match(html, /width: 43%/);
  assert.equal((html.match(/<li class="line /g) || []).length, 7);
  assert.match(html, /chip state rendering/);
  assert.match(html, /chip flag">ratio 1\.31/);
  assert.match(html, /chip state done">reused/);
  assert.match(html, /data-action="cancel">Cancel</);
});

test("done: placed, flagged and errors", () => {
  const html = renderHtml(demo.done());
  assert.match(html, /6 lines placed on 3 new tracks/);
  assert.match(html, /Placed \(6\)/);
  assert.match(html, /Flagged \(2\)/);
  assert.match(html, /Errors \(1\)/);
  assert.match(html, /A5 Revoice - ANNA/);
});

test("clicks on [data-action] reach the controller with the input fields", () => {
  let handler = null;
  const input = { getAttribute: () => "port", value: "47390" };
  const root = {
    innerHTML: "",
    addEventListener: (type, fn) => (handler = fn),
    querySelectorAll: () => [input],
  };
  const seen = [];
  const view = createView(root, (action, fields) => seen.push([action, fields]));
  view.render(demo.idle());
  assert.match(root.innerHTML, /Revoice/);
  const button = { getAttribute: (name) => (name === "data-action" ? "revoice" : null), parentNode: root };
  const label = { getAttribute: () => null, parentNode: button };
  handler({ target: label });
  handler({ target: { getAttribute: () => null, parentNode: root } });
  handler({ target: { getAttribute: (n) => (n === "data-action" ? "cancel" : null), parentNode: root, disabled: true } });
  assert.deepEqual(seen, [["revoice", { port: "47390" }]]);
});
