"""Where the project gets its CDKTF runtime and AWS provider bindings from.

- ``imports.runtime`` picks the Node.js that jsii starts (a supported one, shipped as a wheel).
- ``imports.aws`` is the single entry point to the prebuilt AWS provider classes: it loads only the
  provider modules the app uses instead of all ~1,500 the package imports eagerly.
"""
