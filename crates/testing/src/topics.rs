//! Typed calls for `/_sandbox/topics`.

use crate::Sandbox;

impl Sandbox {}
