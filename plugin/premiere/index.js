"use strict";
/* The panel's entry point inside Premiere: hand the real UXP modules to the controller. */
const { bootPanel } = require("./src/app.js");

bootPanel({
  ppro: require("premierepro"),
  uxp: require("uxp"),
  fs: require("fs"),
  os: require("os"),
  fetch: (url, init) => fetch(url, init),
  root: document.getElementById("app"),
  storage: typeof localStorage === "undefined" ? undefined : localStorage,
});
