"use strict";
/**
 * The file-spool fallback: the same job calls as the HTTP client, carried by
 * files in the service's state folder instead of http://127.0.0.1.
 *
 * Why: Premiere on macOS may refuse plain http:// from a UXP plugin (the
 * Premiere UXP network recipe: "macOS restricts http://"), and a self-signed
 * https certificate would need installing into the keychain. Both the panel
 * and the service run as the same user and share the 0700 state folder, so
 * files are a transport that needs no network permission at all.
 *
 * Protocol (the service side is described in plugin/premiere/README.md):
 *   <state>/spool/requests/<request id>.json   the panel writes (atomically:
 *       .tmp then rename) {"version": 1, "token", "op": "health" | "create" |
 *       "cancel", "job": <POST /jobs body>, "job_id"}
 *   <state>/spool/answers/<request id>.json    the service writes
 *       {"status": <HTTP status>, "body": <the HTTP answer's JSON>}
 *   <state>/spool/jobs/<job id>.json           the service keeps rewriting
 *       the job status (the GET /jobs/{id} body) while the job runs
 * The panel uses the spool only when <state>/spool/ exists, i.e. when the
 * service offers it.
 */

const { joinPath } = require("./paths.js");
const { ServiceError } = require("./service.js");

/**
 * @typedef {object} FileAccess
 * @property {(path: string) => Promise<boolean>} exists
 * @property {(path: string) => Promise<string>} readText
 * @property {(path: string, text: string) => Promise<void>} writeText
 * @property {(from: string, to: string) => Promise<void>} rename
 * @property {(path: string) => Promise<void>} remove
 * @property {(path: string) => Promise<void>} mkdirp
 */

/**
 * The spool folder inside the state folder.
 * @param {string} platform
 * @param {string} stateDir
 * @returns {string}
 */
function spoolDirFor(platform, stateDir) {
  return joinPath(platform, stateDir, "spool");
}

/**
 * Whether the service offers the spool (its folder exists).
 * @param {{files: FileAccess, platform: string, stateDir: string}} where
 * @returns {Promise<boolean>}
 */
async function spoolAvailable({ files, platform, stateDir }) {
  return files.exists(spoolDirFor(platform, stateDir));
}

/**
 * A client with the HTTP client's job calls, over the spool.
 * @param {{files: FileAccess, platform: string, stateDir: string, token: string,
 *   sleep: (ms: number) => Promise<void>, makeId: () => string,
 *   answerTimeoutMs?: number, pollMs?: number}} options times in milliseconds
 */
function createSpoolClient({ files, platform, stateDir, token, sleep, makeId, answerTimeoutMs = 10000, pollMs = 200 }) {
  const spool = spoolDirFor(platform, stateDir);
  const requests = joinPath(platform, spool, "requests");
  const answers = joinPath(platform, spool, "answers");
  const jobs = joinPath(platform, spool, "jobs");

  async function exchange(op, fields) {
    const id = makeId();
    const finalPath = joinPath(platform, requests, `${id}.json`);
    const tmpPath = `${finalPath}.tmp`;
    await files.mkdirp(requests);
    await files.writeText(tmpPath, JSON.stringify({ version: 1, token, op, ...fields }));
    await files.rename(tmpPath, finalPath);
    const answerPath = joinPath(platform, answers, `${id}.json`);
    for (let waited = 0; waited <= answerTimeoutMs; waited += pollMs) {
      if (await files.exists(answerPath)) {
        const answer = JSON.parse(await files.readText(answerPath));
        await files.remove(answerPath).catch(() => {});
        return unwrap(op, answer);
      }
      await sleep(pollMs);
    }
    await files.remove(finalPath).catch(() => {});
    throw new ServiceError(
      `The Revoice service did not answer through the file spool (${spool}) in ${answerTimeoutMs / 1000} s`,
      { kind: "unreachable" },
    );
  }

  function unwrap(op, answer) {
    const status = Number(answer && answer.status);
    const body = answer && answer.body;
    const message = body && typeof body.error === "string" ? body.error : "";
    if (status === 401) {
      throw new ServiceError(`The Revoice service refused the panel's token (401${message ? `: ${message}` : ""})`, {
        kind: "auth",
        status,
      });
    }
    if (!(status >= 200 && status < 300)) {
      throw new ServiceError(message || `The Revoice service answered ${status} to ${op}`, {
        kind: status >= 500 ? "server" : "request",
        status,
      });
    }
    return body;
  }

  async function getJob(jobId) {
    const path = joinPath(platform, jobs, `${String(jobId).replace(/[^A-Za-z0-9_-]/g, "")}.json`);
    if (!(await files.exists(path))) {
      throw new ServiceError(`No status for job ${jobId} in the file spool yet`, { kind: "unreachable" });
    }
    return JSON.parse(await files.readText(path));
  }

  return {
    transport: "spool",
    baseUrl: spool,
    health: () => exchange("health", {}),
    createJob: (jobRequest) => exchange("create", { job: jobRequest }),
    getJob,
    cancelJob: (jobId) => exchange("cancel", { job_id: jobId }),
  };
}

module.exports = { spoolDirFor, spoolAvailable, createSpoolClient };
