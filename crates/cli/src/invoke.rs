//! `sandbox invoke FUNCTION`: run one handler once and print its output.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use sandbox_app::Trigger;
use sandbox_ops::aws::{ACCOUNT, REGION};

use crate::{project, InvokeArgs};

pub async fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let app = project::load(&args.dir, &args.load, None).await?;
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
        Some(route) => sandbox_server::apigw::request::sample_event(route, &id, now),
        None => b"{}".to_vec(),
    }
}
