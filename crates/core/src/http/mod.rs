//! The HTTP side of the core, as composable tower pieces: the `/-daebug*` [`routes`], the
//! HTML [`inject`]ion layer, the [`security`] layers and the standalone [`static_files`].
//!
//! [`DaebugLayer`] is what a host mounts around its own service: `/-daebug*` requests go to the
//! engine, everything else to the inner service, with the shim injected into its HTML. The
//! standalone server is `HostCheckLayer` + `DaebugLayer` around [`static_files::StaticFiles`].

pub mod api;
pub mod channel;
pub mod inject;
pub mod jobs;
pub mod proxy;
pub mod routes;
pub mod security;
pub mod static_files;
pub mod token;

use crate::engine::Engine;
use axum::body::Body;
use axum::Router;
use http::{Request, Response};
use inject::{Inject, InjectLayer};
use security::{AllowedHosts, HostCheckLayer};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

/// The path prefix of every Daebug endpoint.
pub const PREFIX: &str = "/-daebug";

/// Routes `/-daebug*` to the engine and injects the shim into the inner service's HTML.
#[derive(Clone)]
pub struct DaebugLayer {
    router: Router,
}

impl DaebugLayer {
    pub fn new(engine: Engine, allowed: AllowedHosts) -> DaebugLayer {
        DaebugLayer {
            router: routes::router(engine, allowed),
        }
    }
}

impl<S> Layer<S> for DaebugLayer {
    type Service = DaebugService<Inject<S>>;
    fn layer(&self, inner: S) -> Self::Service {
        DaebugService {
            router: self.router.clone(),
            inner: InjectLayer.layer(inner),
        }
    }
}

#[derive(Clone)]
pub struct DaebugService<S> {
    router: Router,
    inner: S,
}

impl<S> Service<Request<Body>> for DaebugService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // Readiness is checked per request below (oneshot), so both routes stay available.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if req.uri().path().starts_with(PREFIX) {
            let router = self.router.clone();
            Box::pin(async move {
                match router.oneshot(req).await {
                    Ok(res) => Ok(res),
                    Err(never) => match never {},
                }
            })
        } else {
            let inner = self.inner.clone();
            Box::pin(inner.oneshot(req))
        }
    }
}

/// Handle one `/-daebug*` request (for hosts that route themselves, like the napi binding).
pub async fn handle(router: &Router, req: Request<Body>) -> Response<Body> {
    match router.clone().oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// The standalone server's whole service: host check, Daebug routes, injection, static files.
pub fn standalone(engine: Engine, allowed: AllowedHosts) -> Router {
    let files = static_files::StaticFiles::new(engine.root().to_path_buf());
    let svc = ServiceBuilder::new()
        .layer(HostCheckLayer::new(allowed.clone()))
        .layer(DaebugLayer::new(engine, allowed))
        .service(files);
    Router::new().fallback_service(InfallibleService(svc))
}

/// Only the `/-daebug*` endpoints (everything else is 404), behind the host check: what a host
/// like Vite runs on a port of its own so that realms reach the core without going through Node.
pub fn endpoints(engine: Engine, allowed: AllowedHosts) -> Router {
    routes::router(engine, allowed.clone()).layer(HostCheckLayer::new(allowed))
}

/// Adapts a service whose error type is `Infallible` for axum's fallback.
#[derive(Clone)]
struct InfallibleService<S>(S);

impl<S> Service<Request<Body>> for InfallibleService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = S::Future;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, req: Request<Body>) -> S::Future {
        self.0.call(req)
    }
}
