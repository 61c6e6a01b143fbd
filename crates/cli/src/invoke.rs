//! `sandbox invoke FUNCTION`: run one handler once and print its output.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use sandbox_app::Trigger;
use sandbox_triggers::schedules::{ACCOUNT, REGION};

use crate::{project, InvokeArgs};

pub async fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let app = project::load(&args.dir, &args.load).await?;
    let Some(function) = app.resolve(&args.function).map(str::to_string) else {
        let known: Vec<_> = app.functions().keys().cloned().collect();
        bail!(
            "no function named `{}`; known functions: {}",
            args.function,
            known.join(", ")
        );
    };
    let event = match &args.event {
        Some(path) if path.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading the event from stdin")?;
            buf
        }
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => default_event(&app, &function),
    };
    serde_json::from_slice::<serde_json::Value>(&event).context("the event is not valid JSON")?;
    let invoked = app.invoke(&function, Trigger::Manual, None, event).await?;
    match invoked.output {
        Ok(output) => {
            println!("{}", String::from_utf8_lossy(&output));
            eprintln!(
                "{function}: ok in {:.1?} (request {})",
                invoked.duration, invoked.request_id
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            eprintln!(
                "{function}: failed: {failure} (request {})",
                invoked.request_id
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A sample of the event the function's trigger would send, when none is given.
fn default_event(app: &sandbox_app::App, function: &str) -> Vec<u8> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = chrono::Utc::now();
    if let Some(schedule) = function.strip_prefix("scheduled/") {
        return sandbox_services::scheduled_event_json(schedule, now, &id, REGION, ACCOUNT)
            .into_bytes();
    }
    match app
        .manifest()
        .routes
        .iter()
        .find(|r| r.function == function)
    {
        Some(route) => sample_http_event(route, &id, now).to_string().into_bytes(),
        None => b"{}".to_vec(),
    }
}

/// An API Gateway HTTP API (2.0) request for the route, as a plain `GET` of its path
/// with every parameter set to `example`.
fn sample_http_event(
    route: &sandbox_manifest::Route,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let method = match route.method {
        sandbox_manifest::Method::Any => "GET",
        other => other.as_str(),
    };
    let mut params = serde_json::Map::new();
    let mut key_path = Vec::new();
    let mut raw_path = Vec::new();
    for segment in route.path.split('/').skip(1) {
        if let Some(name) = segment.strip_prefix(':') {
            params.insert(name.into(), "example".into());
            key_path.push(format!("{{{name}}}"));
            raw_path.push("example".to_string());
        } else if segment == "*" {
            params.insert("proxy".into(), "example".into());
            key_path.push("{proxy+}".into());
            raw_path.push("example".into());
        } else {
            key_path.push(segment.to_string());
            raw_path.push(segment.to_string());
        }
    }
    let route_key = format!("{} /{}", route.method.as_str(), key_path.join("/"));
    let raw_path = format!("/{}", raw_path.join("/"));
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"host": "localhost", "user-agent": "sandbox-invoke"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "sandbox",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "sandbox-invoke"},
            "requestId": id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !params.is_empty() {
        event["pathParameters"] = serde_json::Value::Object(params);
    }
    event
}
