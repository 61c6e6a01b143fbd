//! End to end: a remote stream that was resharded (placeholder, filled in below).
