//! End to end: bus (see the issue).
