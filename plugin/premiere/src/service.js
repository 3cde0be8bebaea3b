"use strict";
/**
 * The panel's client for the local Revoice service (docs/service-api.md):
 * find it (service.json in the per-user state folder, or a port and token
 * the editor typed), then POST /jobs, poll GET /jobs/{id}, DELETE to cancel.
 * Pure: `fetch`, the file access and the clock are passed in, so the tests
 * drive it with fakes.
 *
 * Progress is polled, not streamed: UXP has no EventSource and no
 * TextDecoder for reading a fetch body stream (Premiere UXP network recipe),
 * so server-sent events cannot be read there. Polling every 500 ms is what
 * the service's status already carries (state, done/total, per-line state).
 */

const { DEFAULT_SERVICE_PORT, joinPath } = require("./paths.js");

/** Job states after which the job never changes again. */
const TERMINAL_JOB_STATES = new Set(["done", "failed", "cancelled"]);

/** Why a service call failed: what the panel tells the editor depends on it. */
class ServiceError extends Error {
  /**
   * @param {string} message one line for the editor
   * @param {{kind: "not-running" | "unreachable" | "auth" | "request" | "server" | "protocol",
   *   status?: number | null}} details
   */
  constructor(message, { kind, status = null }) {
    super(message);
    this.name = "ServiceError";
    this.kind = kind;
    this.status = status;
  }
}

/**
 * Read service.json's text into {url, port, token, pid}; only a loopback
 * http://127.0.0.1:<port> URL is accepted.
 * @param {string} text
 * @param {string} sourcePath for messages
 * @returns {{url: string, port: number, token: string, pid: number | null}}
 */
function parseServiceInfo(text, sourcePath) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ServiceError(`${sourcePath} is not valid JSON`, { kind: "protocol" });
  }
  if (!data || typeof data !== "object") {
    throw new ServiceError(`${sourcePath} is not a JSON object`, { kind: "protocol" });
  }
  const match = /^http:\/\/127\.0\.0\.1:(\d{1,5})\/?$/.exec(String(data.url || ""));
  if (!match) {
    throw new ServiceError(`${sourcePath} has no loopback url (http://127.0.0.1:<port>)`, { kind: "protocol" });
  }
  if (typeof data.token !== "string" || !data.token) {
    throw new ServiceError(`${sourcePath} has no token`, { kind: "protocol" });
  }
  const port = Number(match[1]);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token: data.token,
    pid: Number.isSafeInteger(data.pid) ? data.pid : null,
  };
}

/**
 * Where the service is: the editor's settings (port + token) when both are
 * set, else service.json in the state folder.
 * @param {{files: {exists(path: string): Promise<boolean>, readText(path: string): Promise<string>},
 *   stateDir: string, platform: string, settings?: {port?: number | string, token?: string}}} where
 * @returns {Promise<{url: string, port: number, token: string, pid: number | null, source: string}>}
 */
async function discoverService({ files, stateDir, platform, settings }) {
  const port = settings && Number(settings.port);
  if (settings && settings.token && Number.isSafeInteger(port) && port > 0 && port < 65536) {
    return { url: `http://127.0.0.1:${port}`, port, token: String(settings.token), pid: null, source: "settings" };
  }
  const path = joinPath(platform, stateDir, "service.json");
  if (!(await files.exists(path))) {
    throw new ServiceError(
      `The Revoice service is not running (no ${path}). Start it with: revoice serve --port ${DEFAULT_SERVICE_PORT}`,
      { kind: "not-running" },
    );
  }
  const info = parseServiceInfo(await files.readText(path), path);
  return { ...info, source: path };
}

/**
 * Whether the manifest's exact-port network entry covers this port. Any
 * other port depends on UXP accepting the manifest's port-less entry.
 * @param {number} port
 * @returns {boolean}
 */
function isManifestPort(port) {
  return port === DEFAULT_SERVICE_PORT;
}

/**
 * Reject after `ms` unless `promise` settles first.
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {() => Error} makeError
 * @returns {Promise<T>}
 */
function withTimeout(promise, ms, makeError) {
  if (!(ms > 0)) return promise;
  let timer = null;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(makeError()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * An HTTP client for one service.
 * @param {{baseUrl: string, token: string, fetch: Function, timeoutMs?: number}} options
 *   timeoutMs: per request, milliseconds
 */
function createServiceClient({ baseUrl, token, fetch, timeoutMs = 15000 }) {
  if (typeof fetch !== "function") throw new TypeError("createServiceClient needs fetch");
  const root = String(baseUrl).replace(/\/+$/, "");

  async function request(method, path, body) {
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await withTimeout(
        Promise.resolve(fetch(`${root}${path}`, init)),
        timeoutMs,
        () => new Error(`no answer in ${timeoutMs} ms`),
      );
    } catch (err) {
      throw new ServiceError(`Cannot reach the Revoice service at ${root}: ${(err && err.message) || err}`, {
        kind: "unreachable",
      });
    }
    const text = await response.text();
    let payload = null;
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch (err) {
        payload = null;
      }
    }
    const serviceMessage = payload && typeof payload.error === "string" ? payload.error : "";
    if (response.status === 401) {
      throw new ServiceError(
        `The Revoice service refused the panel's token (401${serviceMessage ? `: ${serviceMessage}` : ""}). ` +
          "Reload the panel to re-read service.json, or correct the token in Settings.",
        { kind: "auth", status: 401 },
      );
    }
    if (!response.ok) {
      throw new ServiceError(serviceMessage || `The Revoice service answered HTTP ${response.status}`, {
        kind: response.status >= 500 ? "server" : "request",
        status: response.status,
      });
    }
    if (payload === null || typeof payload !== "object") {
      throw new ServiceError(`The Revoice service sent no JSON for ${method} ${path}`, { kind: "protocol" });
    }
    return payload;
  }

  const job = (id) => `/jobs/${encodeURIComponent(String(id))}`;
  return {
    transport: "http",
    baseUrl: root,
    health: () => request("GET", "/health"),
    createJob: (jobRequest) => request("POST", "/jobs", jobRequest),
    getJob: (jobId) => request("GET", job(jobId)),
    cancelJob: (jobId) => request("DELETE", job(jobId)),
    chooseTake: (jobId, lineId, take) => request("POST", `${job(jobId)}/takes`, { line_id: lineId, take }),
    rerender: (jobId, lineIds, texts = {}) =>
      request("POST", `${job(jobId)}/rerender`, { line_ids: lineIds, texts }),
  };
}

/**
 * The body of POST /jobs.
 * @param {{timeline: string, subtitles?: string | null, out: string, options?: object}} job
 * @returns {{timeline: string, subtitles: string | null, out: string, options: object}}
 */
function buildJobRequest({ timeline, subtitles = null, out, options = {} }) {
  if (!timeline) throw new TypeError("a job needs the exported timeline's path");
  if (!out) throw new TypeError("a job needs an output path");
  return { timeline, subtitles: subtitles || null, out, options: { ...options } };
}

/**
 * Poll a job until it ends. Up to `maxUnreachable` polls in a row may fail
 * to connect (a busy machine) before the error is raised.
 * @param {{getJob(id: string): Promise<object>}} client
 * @param {string} jobId
 * @param {{onStatus?: (status: object) => void, intervalMs?: number,
 *   sleep: (ms: number) => Promise<void>, maxUnreachable?: number}} options intervalMs: milliseconds
 * @returns {Promise<object>} the final job status
 */
async function waitForJob(client, jobId, { onStatus = () => {}, intervalMs = 500, sleep, maxUnreachable = 5 }) {
  let misses = 0;
  for (;;) {
    let status;
    try {
      status = await client.getJob(jobId);
      misses = 0;
    } catch (err) {
      if (!(err instanceof ServiceError) || err.kind !== "unreachable" || misses >= maxUnreachable) throw err;
      misses += 1;
      await sleep(intervalMs);
      continue;
    }
    onStatus(status);
    if (TERMINAL_JOB_STATES.has(status.state)) return status;
    await sleep(intervalMs);
  }
}

module.exports = {
  TERMINAL_JOB_STATES,
  ServiceError,
  parseServiceInfo,
  discoverService,
  isManifestPort,
  createServiceClient,
  buildJobRequest,
  waitForJob,
};
