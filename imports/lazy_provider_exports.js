// Preloaded into the jsii runtime (node --require, set up by imports/runtime.py).
//
// The JavaScript entry point of the AWS provider bindings (lib/index.js) requires all ~1,500
// resource modules eagerly: about 3.5 s on a 2-core machine, most of a synth (on CDK Terrain,
// 7.6 s and ~980 MB). This hook compiles that one file with each export turned into a getter that
// requires the module on first access, so only the resources an app uses are loaded. Exported
// names and values are unchanged (tests compare the synthesized JSON with and without this hook).
// Any other file, or a future index.js of another shape, is loaded untouched.
//
// Which package is the provider: $LAZY_PROVIDER_PACKAGE, the npm name of the selected engine's
// bindings, set by imports/runtime.py from imports/engine.py (the one place that names them). The
// two index shapes, one per engine's code generator:
//   exports.x = require("./x");                          (@cdktf/provider-aws)
//   exports.x = __importStar(require("./x/index"));      (@cdktn/provider-aws)
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const PROVIDER_PACKAGE = process.env.LAZY_PROVIDER_PACKAGE;
const TARGET = String.raw`("\.\/[\w./-]+")`;
const EAGER_EXPORTS = [
  [new RegExp(String.raw`^exports\.([A-Za-z_$][\w$]*) = require\(${TARGET}\);$`, "gm"), ""],
  [
    new RegExp(String.raw`^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\(${TARGET}\)\);$`, "gm"),
    "__importStar",
  ],
];
const compileJs = Module._extensions[".js"];

function isProviderIndex(filename) {
  if (!PROVIDER_PACKAGE) {
    return false;
  }
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
  let lazy = fs.readFileSync(filename, "utf8");
  for (const [eager, wrapper] of EAGER_EXPORTS) {
    lazy = lazy.replace(
      eager,
      (_, name, target) =>
        `Object.defineProperty(exports, "${name}", { enumerable: true, configurable: true, ` +
        `get() { return ${wrapper}(require(${target})); } });`,
    );
  }
  return module._compile(lazy, filename);
};
