//! Which chain of events an invocation belongs to, carried into its `sandbox.call`s.
//!
//! Lambda stops recursive loops (a queue handler that sends to its own queue, a topic →
//! queue → topic cycle) by counting how many invocations one original event has caused:
//! the count travels with every message a handler sends (AWS carries it in the X-Ray
//! trace header). Here the services keep the count on what they hold (a queue message, a
//! topic delivery) and the trigger passes it to [`crate::App::invoke_in_chain`]; this
//! module hands it on to the host call, so a message sent from that invocation carries
//! one hop more. The runtime only sees a per-invocation [`Host`]; it knows nothing of
//! chains, queues or topics.

use std::sync::Arc;

use sandbox_runtime::{Host, HostHandle};

/// Who is calling the services: the function and how many invocations came before this
/// one in its chain (0 for an invocation caused by an outside event: an HTTP request, a
/// message sent through the control or AWS API, a schedule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller<'a> {
    pub function: &'a str,
    pub hops: u32,
}

/// The app's services as handlers reach them through `sandbox.call`, told who calls.
pub trait Services: Send + Sync {
    /// Answers one request (JSON in, `{"ok": …}` or `{"error": "…"}` out). Runs on the
    /// invoking thread while the guest waits, so it must not block for long.
    fn call(&self, caller: &Caller<'_>, request: &[u8]) -> Vec<u8>;
}

/// The services bound to one invocation's place in its chain: the runtime's [`Host`].
struct Bound {
    services: Arc<dyn Services>,
    hops: u32,
}

impl Host for Bound {
    fn call(&self, function: &str, request: &[u8]) -> Vec<u8> {
        let caller = Caller {
            function,
            hops: self.hops,
        };
        self.services.call(&caller, request)
    }
}

/// The host one invocation at `hops` in its chain gets.
pub(crate) fn bind(services: &Arc<dyn Services>, hops: u32) -> HostHandle {
    HostHandle(Arc::new(Bound {
        services: services.clone(),
        hops,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, u32)>>);

    impl Services for Recorder {
        fn call(&self, caller: &Caller<'_>, _request: &[u8]) -> Vec<u8> {
            let mut calls = self.0.lock().unwrap();
            calls.push((caller.function.to_string(), caller.hops));
            b"{}".to_vec()
        }
    }

    #[test]
    fn a_bound_host_tells_the_services_the_invocations_hops() {
        let recorder = Arc::new(Recorder::default());
        let services: Arc<dyn Services> = recorder.clone();
        bind(&services, 3).0.call("queues/a", b"{}");
        bind(&services, 0).0.call("http/get-index", b"{}");
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![
                ("queues/a".to_string(), 3),
                ("http/get-index".to_string(), 0)
            ]
        );
    }
}
