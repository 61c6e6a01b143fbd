//! Typed calls for `/_sandbox/streams`.

use crate::Sandbox;

impl Sandbox {}
