"use strict";
/**
 * Path-based file access over UXP's `fs` module (promise API, absolute paths
 * need localFileSystem "fullAccess"). Node's `fs.promises` has the same
 * calls, which is what the tests pass in.
 */

/**
 * @param {{fs: {readFile: Function, writeFile: Function, lstat: Function, mkdir: Function,
 *   rename: Function, unlink: Function}, platform: string}} options
 * @returns {import("./spool.js").FileAccess}
 */
function createFileAccess({ fs, platform }) {
  // UXP's examples write Windows paths with forward slashes ("C:/Users/...").
  const native = (path) => (platform === "win32" ? String(path).replace(/\\/g, "/") : String(path));

  async function exists(path) {
    try {
      await fs.lstat(native(path));
      return true;
    } catch (err) {
      return false;
    }
  }

  async function mkdirp(path) {
    const target = native(path);
    if (await exists(target)) return;
    const cut = target.lastIndexOf("/");
    if (cut > 0 && !/^[A-Za-z]:$/.test(target.slice(0, cut))) await mkdirp(target.slice(0, cut));
    try {
      await fs.mkdir(target);
    } catch (err) {
      if (!(await exists(target))) throw err;
    }
  }

  return {
    exists,
    mkdirp,
    readText: async (path) => String(await fs.readFile(native(path), { encoding: "utf-8" })),
    writeText: (path, text) => fs.writeFile(native(path), text, { encoding: "utf-8" }),
    rename: (from, to) => fs.rename(native(from), native(to)),
    remove: (path) => fs.unlink(native(path)),
  };
}

module.exports = { createFileAccess };
