//! End to end: SQS over the Query protocol (form requests, XML answers) with a real client that speaks it.

mod common;
