"use strict";
/**
 * Stand-ins for the UXP modules the panel requires besides `premierepro`:
 * `uxp` (the file picker), `fs` (UXP's promise-based fs has Node's
 * fs.promises calls: readFile, writeFile, lstat, mkdir, rename, unlink) and
 * `os` (platform, homedir). The picker records what it was asked.
 */

const nodeFs = require("fs");

/**
 * @param {{pickedPath?: string | null, version?: string}} options pickedPath: what the
 *   subtitle picker returns (null: the editor cancelled)
 */
function createUxpStandIn({ pickedPath = null, version = "26.3.0" } = {}) {
  const calls = [];
  return {
    calls,
    host: { name: "premierepro", version },
    storage: {
      localFileSystem: {
        async getFileForOpening(options) {
          calls.push({ name: "localFileSystem.getFileForOpening", args: [options] });
          return pickedPath ? { isFile: true, nativePath: pickedPath, name: pickedPath.split(/[\\/]/).pop() } : null;
        },
      },
    },
  };
}

/** UXP's `fs` module, played by Node's fs.promises. */
const fsStandIn = nodeFs.promises;

/**
 * UXP's `os` module.
 * @param {{platform?: string, homedir?: string}} options
 */
function createOsStandIn({ platform = "darwin", homedir = "/Users/editor" } = {}) {
  return { platform: () => platform, homedir: () => homedir };
}

module.exports = { createUxpStandIn, fsStandIn, createOsStandIn };
