//! Typed calls for `/_sandbox/buses`.

use crate::Sandbox;

impl Sandbox {}
