//! The AWS SDK's configuration for one remote resource: the standard chain (environment,
//! profile, SSO, `credential_process`) for credentials and region, the region and
//! endpoint the manifest gives overriding it, and one HTTP client (rustls on ring; it
//! speaks plain HTTP to an `http://` endpoint such as a test's or an emulator's).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use sandbox_manifest::Remote;

/// Loads the configuration for `remote` (no call is made yet).
pub(crate) async fn config(remote: &Remote) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &remote.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &remote.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Whether the chain finds credentials and a region, as one line naming the resource
/// when not (never the credentials themselves).
pub(crate) async fn check(config: &SdkConfig, what: &str) -> Result<String, String> {
    let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
        format!("{what}: no AWS region: give one in the ARN or queue URL, or set AWS_REGION (or a profile's region)")
    })?;
    let Some(provider) = config.credentials_provider() else {
        return Err(format!("{what}: no AWS credentials provider is configured"));
    };
    use aws_credential_types::provider::ProvideCredentials as _;
    provider.provide_credentials().await.map_err(|e| {
        format!(
            "{what}: no usable AWS credentials ({}); set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with `aws sso login`",
            error_chain(&e)
        )
    })?;
    Ok(region)
}

/// An error and its sources on one line: the SDK's top-level messages ("dispatch
/// failure", "service error") say little without what caused them.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// An SDK call's error as one line: the service's code and message when AWS answered,
/// the cause otherwise.
pub(crate) fn sdk_error<E, R>(error: &aws_sdk_sqs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        aws_sdk_sqs::error::SdkError::ServiceError(e) => {
            let meta = e.err();
            format!(
                "{}: {}",
                meta.code().unwrap_or("error"),
                meta.message().unwrap_or("no message")
            )
        }
        other => error_chain(other),
    }
}
