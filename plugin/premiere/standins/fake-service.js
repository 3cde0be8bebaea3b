"use strict";
/**
 * A stand-in for the local Revoice service (docs/service-api.md), reachable
 * two ways: a `fetch` function (the HTTP contract: token check, /health,
 * POST/GET/DELETE /jobs) and a file-spool responder (`processSpool`) over a
 * real folder. Each status poll finishes one more line, so a test sees the
 * job go from running to done. It records every request.
 */

const fs = require("fs");
const path = require("path");

/**
 * @param {{token?: string, lines: Array<object>, rate?: number, startFrames?: number,
 *   mediaDir?: string, unreachable?: boolean, version?: string}} options
 *   lines: the job's lines; `final` is the state each ends in (done by default)
 */
function createFakeService({
  token = "t0k3n",
  lines,
  rate = 24000 / 1001,
  startFrames = 0,
  mediaDir = "/projects/Film/Revoice/Reel_1_revoiced_media",
  unreachable = false,
  version = "0.1.0",
}) {
  const requests = [];
  const jobs = new Map();
  let counter = 0;

  const clone = (value) => JSON.parse(JSON.stringify(value));

  function newJob(body) {
    counter += 1;
    const id = `job${counter}`;
    const job = {
      id,
      state: "running",
      done: 0,
      total: lines.length,
      label: "",
      error: null,
      exit_code: null,
      timeline: { path: body.timeline, rate, start_frames: startFrames },
      out: body.out,
      written: [],
      warnings: [],
      lines: lines.map((line) => ({
        line_id: line.line_id,
        speaker: line.speaker,
        text: line.text || "",
        timecode: line.timecode || "",
        record_start: line.record_start,
        record_duration: line.record_duration,
        state: "pending",
        message: "",
        flags: [],
        track: `Revoice - ${line.speaker}`,
        wav: null,
        take: 1,
        takes: [],
        sample_rate: 48000,
        samples: 0,
      })),
    };
    jobs.set(id, job);
    return job;
  }

  /** Finish the next pending line (one per status poll). */
  function advance(job) {
    if (job.state !== "running") return;
    const index = job.lines.findIndex((line) => line.state === "pending");
    if (index < 0) {
      job.state = "done";
      job.exit_code = 0;
      job.written = [job.out];
      return;
    }
    const spec = lines[index];
    const line = job.lines[index];
    line.state = spec.final || "done";
    line.flags = spec.flags || [];
    line.message = spec.message || "";
    if (line.state === "done" || line.state === "cached") {
      line.wav = `${mediaDir}/${line.speaker}_${line.line_id}_t1.wav`;
      line.takes = [{ take: 1, wav: line.wav }];
    }
    job.done += 1;
    job.label = `${line.line_id} ${line.state}`;
    if (job.lines.every((each) => each.state !== "pending")) {
      job.state = "done";
      job.exit_code = 0;
      job.written = [job.out];
    }
  }

  /** One request against the contract: {status, body}. */
  function handle(method, route, body, authorization) {
    if (authorization !== `Bearer ${token}`) return { status: 401, body: { error: "missing or wrong token" } };
    if (method === "GET" && route === "/health") return { status: 200, body: { ok: true, version } };
    if (method === "POST" && route === "/jobs") {
      if (!body || !body.timeline || !body.out) return { status: 422, body: { error: "timeline and out are required" } };
      if (body.subtitles && /missing/.test(body.subtitles)) {
        return { status: 404, body: { error: `subtitle file not found: ${body.subtitles}` } };
      }
      return { status: 201, body: clone(newJob(body)) };
    }
    const match = /^\/jobs\/([^/]+)$/.exec(route);
    const job = match && jobs.get(decodeURIComponent(match[1]));
    if (match && !job) return { status: 404, body: { error: `unknown job: ${match[1]}` } };
    if (job && method === "GET") {
      advance(job);
      return { status: 200, body: clone(job) };
    }
    if (job && method === "DELETE") {
      if (job.state === "running") {
        job.state = "cancelled";
        for (const line of job.lines) if (line.state === "pending") line.state = "cancelled";
        job.label = "cancelled";
      }
      return { status: 202, body: clone(job) };
    }
    return { status: 404, body: { error: `no route ${method} ${route}` } };
  }

  async function fetch(url, init = {}) {
    const method = init.method || "GET";
    const parsed = new URL(url);
    const headers = init.headers || {};
    const body = init.body ? JSON.parse(init.body) : undefined;
    requests.push({ transport: "http", method, path: parsed.pathname, headers: { ...headers }, body, url });
    if (unreachable) throw new TypeError("Network request failed");
    const answer = handle(method, parsed.pathname, body, headers.Authorization);
    const text = JSON.stringify(answer.body);
    return { status: answer.status, ok: answer.status >= 200 && answer.status < 300, text: async () => text };
  }

  /**
   * Answer the spool's pending requests and rewrite every job's status file
   * (advancing running jobs one line), as the service's spool side would.
   * @param {string} spoolDir <state>/spool
   */
  function processSpool(spoolDir) {
    const requestDir = path.join(spoolDir, "requests");
    const answerDir = path.join(spoolDir, "answers");
    const jobDir = path.join(spoolDir, "jobs");
    for (const dir of [requestDir, answerDir, jobDir]) fs.mkdirSync(dir, { recursive: true });
    for (const name of fs.readdirSync(requestDir).filter((file) => file.endsWith(".json")).sort()) {
      const file = path.join(requestDir, name);
      const message = JSON.parse(fs.readFileSync(file, "utf-8"));
      fs.unlinkSync(file);
      requests.push({ transport: "spool", op: message.op, message });
      const auth = `Bearer ${message.token}`;
      let answer;
      if (message.op === "health") answer = handle("GET", "/health", undefined, auth);
      else if (message.op === "create") answer = handle("POST", "/jobs", message.job, auth);
      else if (message.op === "cancel") answer = handle("DELETE", `/jobs/${message.job_id}`, undefined, auth);
      else answer = { status: 400, body: { error: `unknown op ${message.op}` } };
      fs.writeFileSync(path.join(answerDir, name), JSON.stringify(answer));
    }
    for (const job of jobs.values()) {
      fs.writeFileSync(path.join(jobDir, `${job.id}.json`), JSON.stringify(job));
      advance(job);
    }
  }

  return { fetch, processSpool, requests, jobs, token };
}

module.exports = { createFakeService };
