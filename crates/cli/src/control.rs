//! Adapts the triggers' control routes to the server's [`ControlPlane`] extension point,
//! and the AWS APIs (`sandbox-aws`) to its [`AwsPlane`].

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use sandbox_ops::control::Endpoint;
use sandbox_server::{AwsFuture, AwsPlane, AwsRequest, ControlBody, ControlFuture, ControlPlane};
use sandbox_triggers::control::Body;
use sandbox_triggers::Triggers;

pub struct TriggersControl(pub Arc<Triggers>);

impl ControlPlane for TriggersControl {
    fn handle(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Bytes,
    ) -> ControlFuture<'_> {
        let method = method.as_str().to_string();
        let path = path.to_string();
        let query = query.map(str::to_string);
        Box::pin(async move {
            let (status, body) =
                sandbox_triggers::control::route(&self.0, &method, &path, query.as_deref(), &body)
                    .await?;
            let body = match body {
                Body::Json(value) => ControlBody::Json(value),
                Body::Text { content_type, text } => ControlBody::Text { content_type, text },
            };
            Some((
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            ))
        })
    }

    fn endpoints(&self) -> Vec<Endpoint> {
        sandbox_triggers::control::endpoints().copied().collect()
    }

    fn changes(&self) -> u64 {
        self.0.changes()
    }
}

pub struct AwsApis(pub sandbox_aws::Aws);

impl AwsPlane for AwsApis {
    fn handle(&self, request: AwsRequest) -> AwsFuture<'_> {
        Box::pin(async move {
            self.0
                .handle(&request.uri, &request.headers, &request.body)
                .await
        })
    }
}
