//! Publishing to the app's bus from a handler, through `sandbox.call` (see `host`).
