//! End to end: streams (see the issue).
