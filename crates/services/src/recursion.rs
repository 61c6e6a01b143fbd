//! Lambda's recursive loop detection: how far one chain of events may go.
//!
//! AWS counts, for every event a Lambda function causes through SQS or SNS, how many
//! invocations the original event has led to (the count travels in the X-Ray trace
//! header). When a function would be invoked by the same chain more than 16 times, Lambda
//! stops that invocation: the message goes where a failed one would (the SQS queue's
//! dead-letter queue, an SNS subscription's dead-letter queue) or, with none, is dropped,
//! and the loop is reported ("Lambda recursive loop detection" in the Lambda developer
//! guide).
//!
//! Here every queue message and topic delivery carries `hops`: how many invocations came
//! before it in its chain. What arrives from outside (the control API, the AWS API) has 0;
//! a handler invoked for an event with `hops` = n sends with n + 1 ([`next_hop`]), and an
//! invocation with no event behind it (HTTP, a schedule) counts as 0, so its sends have 1.

/// Invocations one chain may make; the one after is stopped.
pub const MAX_INVOCATIONS: u32 = 16;

/// Whether an event that `hops` invocations led to may not invoke a function again.
pub fn stops(hops: u32) -> bool {
    hops >= MAX_INVOCATIONS
}

/// The hop count of what an invocation at `hops` sends.
pub fn next_hop(hops: u32) -> u32 {
    hops.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_invocations_run_and_the_seventeenth_is_stopped() {
        // An outside message (0 hops) invokes once; each send adds a hop.
        let mut hops = 0;
        let mut invocations = 0;
        while !stops(hops) {
            invocations += 1;
            hops = next_hop(hops);
        }
        assert_eq!(invocations, 16);
        assert_eq!(next_hop(u32::MAX), u32::MAX);
    }
}
