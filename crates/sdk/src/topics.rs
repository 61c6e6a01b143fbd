//! Publishing to the app's topics from a handler, through `sandbox.call` (see `host`).
