//! The HTTP front door: user routes as API Gateway HTTP API (payload 2.0) events,
//! the static folder, and the `/_sandbox` control API, on hyper 1.x.
//!
//! [`Server::bind`] takes the port first so the CLI can report the address (or a clear
//! "port in use") before anything else starts; [`Server::serve`] then runs until the
//! shutdown future resolves, stops accepting, and lets requests in flight finish.
//!
//! The app being served lives in an [`AppCell`] that a hot reload swaps atomically;
//! each request keeps the `Arc<App>` it started with.

pub mod apigw;
pub mod aws;
pub mod control;
mod dashboard;
mod handler;
mod policy;
pub mod router;
pub mod static_files;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context as _;
use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use sandbox_app::App;
use tokio::net::TcpListener;

pub use aws::{AwsFuture, AwsPlane, AwsRequest};
pub use control::{ControlBody, ControlFuture, ControlPlane, NoControlPlane};
pub use handler::MAX_BODY_BYTES;
pub use policy::Policy;
pub use router::Router;

pub use sandbox_app::AppCell;

/// Wraps a freshly loaded app in a new [`AppCell`].
pub fn app_cell(app: App) -> AppCell {
    Arc::new(ArcSwap::from_pointee(app))
}

/// Where to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    pub host: IpAddr,
    pub port: u16,
}

impl Default for ServerConfig {
    /// Loopback only, on Architect sandbox's port.
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3333,
        }
    }
}

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    policy: Policy,
    aws: Option<Arc<dyn AwsPlane>>,
}

impl Server {
    /// Binds the listening socket; port 0 picks a free port (see the returned address).
    pub async fn bind(config: &ServerConfig) -> anyhow::Result<(Server, SocketAddr)> {
        let address = SocketAddr::new(config.host, config.port);
        let listener = match TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
                "port {} on {} is already in use (is another sandbox running?); pick another with --port <PORT>",
                config.port,
                config.host
            ),
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => anyhow::bail!(
                "not allowed to listen on {address} ({err}); ports below 1024 need privileges, pick another with --port <PORT>"
            ),
            Err(err) => return Err(err).with_context(|| format!("cannot listen on {address}")),
        };
        let bound = listener
            .local_addr()
            .context("cannot read the bound address")?;
        Ok((
            Server {
                listener,
                policy: Policy::default(),
                aws: None,
            },
            bound,
        ))
    }

    /// Limits and access rules other than the defaults.
    pub fn with_policy(mut self, policy: Policy) -> Server {
        self.policy = policy;
        self
    }

    /// Answers the AWS APIs on this port through `plane` (without one, AWS calls reach
    /// the app's routes like any request).
    pub fn with_aws(mut self, plane: Arc<dyn AwsPlane>) -> Server {
        self.aws = Some(plane);
        self
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits for the
    /// requests in flight (idle keep-alive connections are closed at once).
    pub async fn serve(
        self,
        app: AppCell,
        control: Arc<dyn ControlPlane>,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let policy = Arc::new(self.policy);
        let shared = Arc::new(Shared::new(app, control, self.aws.clone(), policy.clone()));
        let local_port = self.listener.local_addr()?.port();
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let connections = Arc::new(tokio::sync::Semaphore::new(policy.max_connections));
        let mut http = http1::Builder::new();
        http.keep_alive(true)
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(policy.header_timeout)
            .max_buf_size(policy.max_header_bytes.max(8192));

        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Per-connection errors (reset before accept) are harmless; running
                        // out of file descriptors is not, but backing off beats spinning.
                        tracing::warn!(target: "sandbox::http", "accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Small request/response pairs must not wait for Nagle.
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(target: "sandbox::http", "cannot set TCP_NODELAY: {err}");
            }
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                tokio::spawn(policy::refuse_connection(stream, policy.max_connections));
                continue;
            };
            let connection = handler::Connection { peer, local_port };
            let shared = shared.clone();
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move {
                    // The dashboard's event stream is the one answer that is not a whole body.
                    let response = match dashboard::answer(&shared, &req) {
                        Some(response) => response,
                        None => handler::handle(&shared, connection, req)
                            .await
                            .map(http_body_util::Either::Left),
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(err) = conn.await {
                    tracing::debug!(target: "sandbox::http", "connection from {peer} ended: {err}");
                }
                drop(permit);
            });
        }

        drop(self.listener);
        // Open dashboards' event streams end, or the graceful shutdown would wait on them.
        shared.live.close();
        graceful.shutdown().await;
        Ok(())
    }
}

/// State every request shares.
pub(crate) struct Shared {
    cell: AppCell,
    control: Arc<dyn ControlPlane>,
    aws: Option<Arc<dyn AwsPlane>>,
    policy: Arc<Policy>,
    /// The router of the app last seen in `cell`, rebuilt when a reload swaps the app.
    routers: ArcSwap<RouterCache>,
    /// The dashboard's open event streams, ended at shutdown.
    live: dashboard::Live,
}

struct RouterCache {
    /// Weak so the cache never keeps a replaced app alive; while it exists the
    /// allocation (and so the address compared against) cannot be reused.
    app: Weak<App>,
    router: Arc<Router>,
}

impl Shared {
    fn new(
        cell: AppCell,
        control: Arc<dyn ControlPlane>,
        aws: Option<Arc<dyn AwsPlane>>,
        policy: Arc<Policy>,
    ) -> Shared {
        let app = cell.load_full();
        let cache = RouterCache {
            app: Arc::downgrade(&app),
            router: Arc::new(Router::new(&app.manifest().routes)),
        };
        Shared {
            cell,
            control,
            aws,
            policy,
            routers: ArcSwap::from_pointee(cache),
            live: dashboard::Live::default(),
        }
    }

    /// The route table for `app`, built once per loaded app.
    fn router_for(&self, app: &Arc<App>) -> Arc<Router> {
        {
            let cache = self.routers.load();
            if std::ptr::eq(cache.app.as_ptr(), Arc::as_ptr(app)) {
                return cache.router.clone();
            }
        }
        let router = Arc::new(Router::new(&app.manifest().routes));
        self.routers.store(Arc::new(RouterCache {
            app: Arc::downgrade(app),
            router: router.clone(),
        }));
        router
    }
}
