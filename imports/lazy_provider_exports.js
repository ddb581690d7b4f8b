// Preloaded into the jsii runtime (node --require, set up by imports/runtime.py).
//
// The JavaScript entry point of @cdktf/provider-aws (lib/index.js) requires all ~1,500 resource
// modules eagerly: about 3.5 s on a 2-core machine, most of a synth. This hook compiles that one
// file with each `exports.x = require("./x");` turned into a getter that requires the module on
// first access, so only the resources an app uses are loaded. Exported names and values are
// unchanged (tests compare the synthesized JSON with and without this hook). Any other file, or a
// future index.js of another shape, is loaded untouched.
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const PROVIDER_PACKAGE = "@cdktf/provider-aws";
const EAGER_EXPORT = /^exports\.([A-Za-z_$][\w$]*) = require\(("\.\/[\w./-]+")\);$/gm;
const compileJs = Module._extensions[".js"];

function isProviderIndex(filename) {
  if (path.basename(filename) !== "index.js" || path.basename(path.dirname(filename)) !== "lib") {
    return false;
  }
  try {
    const manifest = path.join(path.dirname(path.dirname(filename)), "package.json");
    return JSON.parse(fs.readFileSync(manifest, "utf8")).name === PROVIDER_PACKAGE;
  } catch {
    return false;
  }
}

Module._extensions[".js"] = function (module, filename) {
  if (!isProviderIndex(filename)) {
    return compileJs(module, filename);
  }
  const source = fs.readFileSync(filename, "utf8");
  const lazy = source.replace(
    EAGER_EXPORT,
    (_, name, target) =>
      `Object.defineProperty(exports, "${name}", { enumerable: true, configurable: true, ` +
      `get() { return require(${target}); } });`,
  );
  return module._compile(lazy, filename);
};
