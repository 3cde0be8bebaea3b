"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");

const {
  ServiceError,
  parseServiceInfo,
  discoverService,
  isManifestPort,
  createServiceClient,
  buildJobRequest,
  waitForJob,
  TERMINAL_JOB_STATES,
} = require("../src/service.js");
const { createFileAccess } = require("../src/files.js");
const { DEFAULT_SERVICE_PORT, stateDirFor } = require("../src/paths.js");
const { createFakeService } = require("../standins/fake-service.js");

const LINES = [
  { line_id: "L0001", speaker: "NAGG", record_start: 29, record_duration: 52 },
  { line_id: "L0002", speaker: "NELL", record_start: 100, record_duration: 40 },
];
const noSleep = async () => {};

function client(service, token = service.token) {
  return createServiceClient({ baseUrl: "http://127.0.0.1:47390", token, fetch: service.fetch });
}

test("every request carries the bearer token; POST sends JSON", async () => {
  const service = createFakeService({ lines: LINES });
  const api = client(service);
  assert.deepEqual(await api.health(), { ok: true, version: "0.1.0" });
  const job = await api.createJob(buildJobRequest({ timeline: "/p/cut.otio", out: "/p/cut_revoiced.otio" }));
  assert.equal(job.state, "running");
  assert.equal(service.requests.length, 2);
  for (const request of service.requests) {
    assert.equal(request.headers.Authorization, `Bearer ${service.token}`);
    assert.ok(request.url.startsWith("http://127.0.0.1:47390/"));
  }
  const post = service.requests[1];
  assert.equal(post.method, "POST");
  assert.equal(post.path, "/jobs");
  assert.equal(post.headers["Content-Type"], "application/json");
  assert.deepEqual(post.body, { timeline: "/p/cut.otio", subtitles: null, out: "/p/cut_revoiced.otio", options: {} });
});

test("a wrong token gets a clear 401 message", async () => {
  const service = createFakeService({ lines: LINES });
  const api = client(service, "stale-token");
  await assert.rejects(api.health(), (err) => {
    assert.ok(err instanceof ServiceError);
    assert.equal(err.kind, "auth");
    assert.equal(err.status, 401);
    assert.match(err.message, /refused the panel's token \(401: missing or wrong token\)/);
    assert.match(err.message, /re-read service\.json/);
    return true;
  });
});

test("4xx answers carry the service's one-line message", async () => {
  const service = createFakeService({ lines: LINES });
  const api = client(service);
  await assert.rejects(
    api.createJob(buildJobRequest({ timeline: "/p/cut.otio", subtitles: "/p/missing.srt", out: "/p/o.otio" })),
    (err) => err.kind === "request" && err.status === 404 && err.message === "subtitle file not found: /p/missing.srt",
  );
  await assert.rejects(api.getJob("nope"), (err) => err.status === 404 && /unknown job: nope/.test(err.message));
});

test("no listener becomes an 'unreachable' error naming the URL", async () => {
  const service = createFakeService({ lines: LINES, unreachable: true });
  await assert.rejects(client(service).health(), (err) => {
    assert.equal(err.kind, "unreachable");
    assert.match(err.message, /Cannot reach the Revoice service at http:\/\/127\.0\.0\.1:47390: Network request failed/);
    return true;
  });
});

test("a request that never answers times out", async () => {
  const api = createServiceClient({
    baseUrl: "http://127.0.0.1:47390",
    token: "t",
    fetch: () => new Promise(() => {}),
    timeoutMs: 20,
  });
  await assert.rejects(api.health(), (err) => err.kind === "unreachable" && /no answer in 20 ms/.test(err.message));
});

test("cancel is DELETE /jobs/{id}", async () => {
  const service = createFakeService({ lines: LINES });
  const api = client(service);
  const job = await api.createJob(buildJobRequest({ timeline: "/p/cut.otio", out: "/p/o.otio" }));
  const cancelled = await api.cancelJob(job.id);
  assert.equal(cancelled.state, "cancelled");
  const last = service.requests[service.requests.length - 1];
  assert.equal(last.method, "DELETE");
  assert.equal(last.path, `/jobs/${job.id}`);
  assert.equal(last.headers.Authorization, `Bearer ${service.token}`);
});

test("waitForJob polls until the job ends and reports each status", async () => {
  const service = createFakeService({ lines: LINES });
  const api = client(service);
  const job = await api.createJob(buildJobRequest({ timeline: "/p/cut.otio", out: "/p/o.otio" }));
  const seen = [];
  const sleeps = [];
  const final = await waitForJob(api, job.id, {
    onStatus: (status) => seen.push([status.state, status.done]),
    sleep: async (ms) => sleeps.push(ms),
    intervalMs: 500,
  });
  assert.equal(final.state, "done");
  assert.deepEqual(seen, [["running", 1], ["done", 2]]);
  assert.deepEqual(sleeps, [500]);
  assert.ok(TERMINAL_JOB_STATES.has("cancelled"));
});

test("waitForJob rides out a few failed polls, then gives up", async () => {
  let calls = 0;
  const flaky = {
    async getJob() {
      calls += 1;
      if (calls <= 2) throw new ServiceError("busy", { kind: "unreachable" });
      return { state: "done" };
    },
  };
  assert.equal((await waitForJob(flaky, "j", { sleep: noSleep })).state, "done");
  const dead = { getJob: async () => Promise.reject(new ServiceError("gone", { kind: "unreachable" })) };
  await assert.rejects(waitForJob(dead, "j", { sleep: noSleep, maxUnreachable: 2 }), /gone/);
  const auth = { getJob: async () => Promise.reject(new ServiceError("401", { kind: "auth" })) };
  await assert.rejects(waitForJob(auth, "j", { sleep: noSleep }), /401/);
});

test("service.json is read from the per-user state folder; only loopback URLs pass", async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "revoice-home-"));
  const stateDir = stateDirFor({ platform: "linux", homedir: home, env: {} });
  assert.equal(stateDir, path.join(home, ".local", "state", "revoice"));
  const files = createFileAccess({ fs: fs.promises, platform: "linux" });
  await assert.rejects(
    discoverService({ files, stateDir, platform: "linux" }),
    (err) => err.kind === "not-running" && /revoice serve --port 47390/.test(err.message),
  );
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(
    path.join(stateDir, "service.json"),
    JSON.stringify({ version: 1, url: "http://127.0.0.1:51234", port: 51234, token: "abc", pid: 4242 }),
  );
  const found = await discoverService({ files, stateDir, platform: "linux" });
  assert.deepEqual(found, {
    url: "http://127.0.0.1:51234",
    port: 51234,
    token: "abc",
    pid: 4242,
    source: path.join(stateDir, "service.json"),
  });
  const typed = await discoverService({ files, stateDir, platform: "linux", settings: { port: "47390", token: "typed" } });
  assert.equal(typed.url, "http://127.0.0.1:47390");
  assert.equal(typed.token, "typed");
  assert.equal(typed.source, "settings");

  assert.throws(() => parseServiceInfo('{"url": "http://0.0.0.0:80", "token": "x"}', "s.json"), /loopback/);
  assert.throws(() => parseServiceInfo('{"url": "http://example.com:80", "token": "x"}', "s.json"), /loopback/);
  assert.throws(() => parseServiceInfo('{"url": "http://127.0.0.1:80"}', "s.json"), /no token/);
  assert.throws(() => parseServiceInfo("{nope", "s.json"), /not valid JSON/);
});

test("state folders per platform follow docs/service-api.md", () => {
  assert.equal(
    stateDirFor({ platform: "darwin", homedir: "/Users/ed" }),
    "/Users/ed/Library/Application Support/Revoice",
  );
  assert.equal(
    stateDirFor({ platform: "win32", homedir: "C:\\Users\\ed", env: { LOCALAPPDATA: "C:\\Users\\ed\\AppData\\Local" } }),
    "C:\\Users\\ed\\AppData\\Local\\Revoice",
  );
  assert.equal(stateDirFor({ platform: "win32", homedir: "C:\\Users\\ed" }), "C:\\Users\\ed\\AppData\\Local\\Revoice");
  assert.equal(stateDirFor({ platform: "linux", homedir: "/h", env: { XDG_STATE_HOME: "/x" } }), "/x/revoice");
  assert.equal(stateDirFor({ platform: "darwin", homedir: "/h", env: { REVOICE_STATE_DIR: "/s" } }), "/s");
  assert.ok(isManifestPort(DEFAULT_SERVICE_PORT));
  assert.ok(!isManifestPort(51234));
});
