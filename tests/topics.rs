//! End to end: topics (see the issue).
