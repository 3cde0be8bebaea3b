"use strict";
/**
 * Paths the panel needs, for macOS and Windows (Premiere's platforms) and
 * Linux (tests): the service's per-user state folder, where the panel writes
 * the exported timeline, and small join / dirname helpers. Pure.
 */

/** The service's default port for plugins: the manifest lists exactly this origin. */
const DEFAULT_SERVICE_PORT = 47390;

/**
 * The path separator of a platform.
 * @param {string} platform "darwin" | "win32" | "linux"
 * @returns {string}
 */
function separatorFor(platform) {
  return platform === "win32" ? "\\" : "/";
}

/**
 * Join path parts with the platform's separator, without doubling separators.
 * @param {string} platform
 * @param {...string} parts
 * @returns {string}
 */
function joinPath(platform, ...parts) {
  const sep = separatorFor(platform);
  const cleaned = parts
    .filter((part) => part !== undefined && part !== null && part !== "")
    .map((part, i) => {
      let text = String(part);
      if (i > 0) text = text.replace(/^[\\/]+/, "");
      if (i < parts.length - 1) text = text.replace(/[\\/]+$/, "");
      return text;
    });
  return cleaned.join(sep);
}

/**
 * The folder part of a path (either separator).
 * @param {string} path
 * @returns {string}
 */
function dirname(path) {
  const text = String(path);
  const cut = Math.max(text.lastIndexOf("/"), text.lastIndexOf("\\"));
  if (cut < 0) return "";
  if (cut === 0) return text[0];
  return text.slice(0, cut);
}

/**
 * The last part of a path (either separator).
 * @param {string} path
 * @returns {string}
 */
function basename(path) {
  const text = String(path);
  const cut = Math.max(text.lastIndexOf("/"), text.lastIndexOf("\\"));
  return cut < 0 ? text : text.slice(cut + 1);
}

/**
 * The service's per-user state folder (docs/service-api.md):
 * macOS ~/Library/Application Support/Revoice, Windows %LOCALAPPDATA%\Revoice,
 * Linux $XDG_STATE_HOME/revoice or ~/.local/state/revoice;
 * REVOICE_STATE_DIR overrides all.
 * @param {{platform: string, homedir: string, env?: Record<string, string | undefined>}} where
 * @returns {string}
 */
function stateDirFor({ platform, homedir, env = {} }) {
  if (env.REVOICE_STATE_DIR) return env.REVOICE_STATE_DIR;
  if (platform === "darwin") return joinPath(platform, homedir, "Library", "Application Support", "Revoice");
  if (platform === "win32") {
    const local = env.LOCALAPPDATA || joinPath(platform, homedir, "AppData", "Local");
    return joinPath(platform, local, "Revoice");
  }
  const stateHome = env.XDG_STATE_HOME || joinPath(platform, homedir, ".local", "state");
  return joinPath(platform, stateHome, "revoice");
}

/**
 * A name safe in a file name on every platform.
 * @param {string} name
 * @returns {string}
 */
function safeFileName(name) {
  const cleaned = String(name || "")
    .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_")
    .replace(/\s+/g, "_")
    .replace(/^[._]+|[._]+$/g, "");
  return (cleaned || "sequence").slice(0, 80);
}

/**
 * A sortable local time stamp for file names, e.g. 20261204-153012.
 * @param {Date} date
 * @returns {string}
 */
function timeStamp(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`
  );
}

/**
 * Where one run writes its exported timeline and asks the service to write
 * the revoiced one: a "Revoice" folder next to the project file, else the
 * state folder's "premiere" folder.
 * The exporter adds ".otio" or ".xml" to `timelineStem`.
 * @param {{platform: string, projectPath?: string, stateDir: string, sequenceName: string,
 *   date: Date}} run
 * @returns {{folder: string, timelineStem: string, out: string}}
 */
function runPaths({ platform, projectPath, stateDir, sequenceName, date }) {
  const folder = projectPath
    ? joinPath(platform, dirname(projectPath), "Revoice")
    : joinPath(platform, stateDir, "premiere");
  const stem = `${safeFileName(sequenceName)}_${timeStamp(date)}`;
  return {
    folder,
    timelineStem: joinPath(platform, folder, stem),
    out: joinPath(platform, folder, `${stem}_revoiced.otio`),
  };
}

module.exports = {
  DEFAULT_SERVICE_PORT,
  separatorFor,
  joinPath,
  dirname,
  basename,
  stateDirFor,
  safeFileName,
  timeStamp,
  runPaths,
};
