//! API Gateway HTTP API (payload format 2.0): the event a request becomes, and the
//! rules that turn a handler's output back into an HTTP response.

pub mod request;
pub mod response;
