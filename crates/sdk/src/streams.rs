//! Publishing to the app's streams from a handler, through `sandbox.call` (see `host`).
