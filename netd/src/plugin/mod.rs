//! The plugin socket: Docker's remote network-driver and IPAM-driver
//! protocols (`/Plugin.Activate`, `/NetworkDriver.*`, `/IpamDriver.*`), so
//! that dockerd, or any engine that speaks libnetwork's plugin protocol, can
//! run `docker network create -d netd --ipam-driver netd`.
//!
//! Requests are routed on the path alone (never on `Accept`). Failures of
//! the operation answer 200 with `{"Err": …}` for the network driver and
//! `{"Error": …}` for IPAM, as libnetwork reads them; an undecodable body
//! answers 400, and a method netd does not serve 404 (libnetwork takes 404
//! as "not implemented"). The work is done by the [`Controller`], one
//! request at a time, as for netd's own API.
//!
//! [`Controller`]: crate::controller::Controller

mod parse;
pub(crate) mod wire;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::{Shared, detached};
use crate::error::NetdError;

/// The content type of every answer.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.docker.plugins.v1+json";
/// The socket path dockerd discovers `-d netd` at.
pub const DEFAULT_SOCKET: &str = "/run/docker/plugins/netd.sock";

/// Which protocol a failure belongs to: they name the error field apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Iface {
    Driver,
    Ipam,
}

fn answer<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}

/// A failed operation: 200 with the protocol's error field.
fn failed(iface: Iface, e: &NetdError) -> Response {
    tracing::warn!(error = %e.message, "plugin request failed");
    let body = match iface {
        Iface::Driver => json!({ "Err": e.message }),
        Iface::Ipam => json!({ "Error": e.message }),
    };
    answer(StatusCode::OK, &body)
}

/// An undecodable request: 400. libnetwork reads `Err` from a non-200
/// answer whatever the protocol, so both fields carry the message.
fn malformed(message: &str) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        &json!({ "Err": message, "Error": message }),
    )
}

fn ok<T: Serialize>(iface: Iface, result: Result<T, NetdError>) -> Response {
    match result {
        Ok(body) => answer(StatusCode::OK, &body),
        Err(e) => failed(iface, &e),
    }
}

/// A request body that does not decode: answered 400 (see [`malformed`]).
#[derive(Debug)]
struct Undecodable(String);

impl IntoResponse for Undecodable {
    fn into_response(self) -> Response {
        malformed(&self.0)
    }
}

/// A request body decoded from JSON, or a 400 answer.
#[derive(Debug)]
struct Body<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Undecodable;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| Undecodable(format!("reading the request: {e}")))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(Undecodable(
                "invalid JSON: the request body is empty".into(),
            ));
        }
        serde_json::from_slice(&body)
            .map(Body)
            .map_err(|e| Undecodable(format!("invalid JSON: {e}")))
    }
}

/// The answer of a network-driver operation that returns nothing.
fn done(r: Result<(), NetdError>) -> Response {
    ok(Iface::Driver, r.map(|()| json!({})))
}

/// Runs `f` on the controller in its own task (see [`detached`]).
async fn run<T, F, Fut>(c: &Shared, f: F) -> Result<T, NetdError>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::OwnedMutexGuard<crate::controller::Controller>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, NetdError>> + Send + 'static,
{
    detached(c, f).await.map_err(|e| e.0)
}

/// Every route of the plugin socket.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/Plugin.Activate", post(activate))
        .route("/NetworkDriver.GetCapabilities", post(driver_capabilities))
        .route("/NetworkDriver.CreateNetwork", post(create_network))
        .route("/NetworkDriver.AllocateNetwork", post(allocate_network))
        .route("/NetworkDriver.DeleteNetwork", post(delete_network))
        .route("/NetworkDriver.FreeNetwork", post(free_network))
        .route("/NetworkDriver.CreateEndpoint", post(create_endpoint))
        .route("/NetworkDriver.EndpointOperInfo", post(endpoint_info))
        .route("/NetworkDriver.DeleteEndpoint", post(delete_endpoint))
        .route("/NetworkDriver.Join", post(join))
        .route("/NetworkDriver.Leave", post(leave))
        .route("/NetworkDriver.DiscoverNew", post(discover))
        .route("/NetworkDriver.DiscoverDelete", post(discover))
        .route(
            "/NetworkDriver.ProgramExternalConnectivity",
            post(program_external),
        )
        .route(
            "/NetworkDriver.RevokeExternalConnectivity",
            post(revoke_external),
        )
        .route("/IpamDriver.GetCapabilities", post(ipam_capabilities))
        .route("/IpamDriver.GetDefaultAddressSpaces", post(address_spaces))
        .route("/IpamDriver.RequestPool", post(request_pool))
        .route("/IpamDriver.ReleasePool", post(release_pool))
        .route("/IpamDriver.RequestAddress", post(request_address))
        .route("/IpamDriver.ReleaseAddress", post(release_address))
        .fallback(|| async {
            answer(
                StatusCode::NOT_FOUND,
                &json!({ "Err": "netd does not implement this plugin method" }),
            )
        })
        .layer(axum::middleware::from_fn(log_call))
        .with_state(state)
}

/// Logs each call with its answer's status (debug level).
async fn log_call(req: Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    tracing::debug!(%path, status = resp.status().as_u16(), "plugin call");
    resp
}

async fn activate() -> Response {
    answer(
        StatusCode::OK,
        &wire::Activate {
            implements: vec!["NetworkDriver", "IpamDriver"],
        },
    )
}

// ---- network driver ----

async fn driver_capabilities() -> Response {
    answer(
        StatusCode::OK,
        &wire::DriverCapabilities {
            scope: "local",
            connectivity_scope: "local",
        },
    )
}

async fn create_network(State(c): State<Shared>, Body(req): Body<wire::CreateNetwork>) -> Response {
    let spec = match parse::network_spec(req) {
        Ok(s) => s,
        Err(e) => return failed(Iface::Driver, &e),
    };
    let r = run(
        &c,
        |mut c| async move { c.plugin_create_network(spec).await },
    )
    .await;
    done(r)
}

/// Swarm's global-scope allocation: nothing to do for a local driver.
async fn allocate_network(Body(_): Body<wire::CreateNetwork>) -> Response {
    answer(StatusCode::OK, &json!({ "Options": {} }))
}

async fn delete_network(State(c): State<Shared>, Body(req): Body<wire::NetworkRef>) -> Response {
    let r = run(&c, move |mut c| async move {
        c.plugin_delete_network(&req.network_id).await
    })
    .await;
    done(r)
}

async fn free_network(Body(_): Body<wire::NetworkRef>) -> Response {
    answer(StatusCode::OK, &json!({}))
}

async fn create_endpoint(
    State(c): State<Shared>,
    Body(req): Body<wire::CreateEndpoint>,
) -> Response {
    let spec = match parse::endpoint_spec(req) {
        Ok(s) => s,
        Err(e) => return failed(Iface::Driver, &e),
    };
    let r = run(
        &c,
        |mut c| async move { c.plugin_create_endpoint(spec).await },
    )
    .await;
    ok(
        Iface::Driver,
        r.map(|created| wire::CreateEndpointResponse {
            interface: created.mac.map(|mac| wire::EndpointInterface {
                mac_address: mac,
                ..Default::default()
            }),
        }),
    )
}

async fn endpoint_info(State(c): State<Shared>, Body(req): Body<wire::EndpointRef>) -> Response {
    let r = c
        .lock()
        .await
        .plugin_endpoint_info(&req.network_id, &req.endpoint_id);
    ok(
        Iface::Driver,
        r.map(|ep| wire::EndpointInfo {
            value: parse::endpoint_info(&ep),
        }),
    )
}

async fn delete_endpoint(State(c): State<Shared>, Body(req): Body<wire::EndpointRef>) -> Response {
    let r = run(&c, move |mut c| async move {
        c.plugin_delete_endpoint(&req.network_id, &req.endpoint_id)
            .await
    })
    .await;
    done(r)
}

async fn join(State(c): State<Shared>, Body(req): Body<wire::EndpointRef>) -> Response {
    if req.sandbox_key.is_empty() {
        return failed(
            Iface::Driver,
            &NetdError::invalid("Join needs a SandboxKey"),
        );
    }
    let r = run(&c, move |mut c| async move {
        c.plugin_join(&req.network_id, &req.endpoint_id, &req.sandbox_key)
    })
    .await;
    ok(
        Iface::Driver,
        r.map(|j| wire::JoinResponse {
            interface_name: wire::InterfaceName {
                src_name: j.src_name,
                dst_prefix: j.dst_prefix,
            },
            gateway: j.gateway.map(|g| g.to_string()).unwrap_or_default(),
            gateway_ipv6: j.gateway_v6.map(|g| g.to_string()).unwrap_or_default(),
            static_routes: Vec::new(),
            disable_gateway_service: j.disable_gateway_service,
        }),
    )
}

async fn leave(State(c): State<Shared>, Body(req): Body<wire::EndpointRef>) -> Response {
    let r = run(&c, move |mut c| async move {
        c.plugin_leave(&req.network_id, &req.endpoint_id)
    })
    .await;
    done(r)
}

/// Node discovery is for multi-host drivers; a local one takes note of
/// nothing.
async fn discover(Body(_): Body<serde_json::Value>) -> Response {
    answer(StatusCode::OK, &json!({}))
}

async fn program_external(State(c): State<Shared>, Body(req): Body<wire::EndpointRef>) -> Response {
    let mappings = match parse::port_mappings(req.options.as_ref()) {
        Ok(m) => m,
        Err(e) => return failed(Iface::Driver, &e),
    };
    let r = run(&c, move |mut c| async move {
        c.plugin_program_external(&req.network_id, &req.endpoint_id, &mappings)
    })
    .await;
    done(r)
}

async fn revoke_external(State(c): State<Shared>, Body(req): Body<wire::EndpointRef>) -> Response {
    let r = run(&c, move |mut c| async move {
        c.plugin_revoke_external(&req.network_id, &req.endpoint_id)
    })
    .await;
    done(r)
}

// ---- IPAM driver ----

async fn ipam_capabilities() -> Response {
    answer(
        StatusCode::OK,
        &wire::IpamCapabilities {
            requires_mac_address: false,
            requires_request_replay: false,
        },
    )
}

async fn address_spaces() -> Response {
    answer(
        StatusCode::OK,
        &wire::AddressSpaces {
            local_default_address_space: "LocalDefault",
            global_default_address_space: "GlobalDefault",
        },
    )
}

async fn request_pool(State(c): State<Shared>, Body(req): Body<wire::RequestPool>) -> Response {
    let (subnet, range) = match parse::pool_request(&req) {
        Ok(p) => p,
        Err(e) => return failed(Iface::Ipam, &e),
    };
    let r = run(&c, move |mut c| async move {
        c.plugin_request_pool(&req.address_space, subnet, range, req.v6)
            .await
    })
    .await;
    ok(
        Iface::Ipam,
        r.map(|id| wire::RequestPoolResponse {
            pool_id: id.to_string(),
            pool: id.subnet.to_string(),
            data: Default::default(),
        }),
    )
}

async fn release_pool(State(c): State<Shared>, Body(req): Body<wire::PoolRef>) -> Response {
    let r = run(&c, move |mut c| async move {
        c.plugin_release_pool(&req.pool_id)
    })
    .await;
    ok(Iface::Ipam, r.map(|()| json!({})))
}

async fn request_address(
    State(c): State<Shared>,
    Body(req): Body<wire::AddressRequest>,
) -> Response {
    let (addr, gateway) = match parse::address_request(&req) {
        Ok(a) => a,
        Err(e) => return failed(Iface::Ipam, &e),
    };
    let r = run(&c, move |mut c| async move {
        c.plugin_request_address(&req.pool_id, addr, gateway)
    })
    .await;
    ok(
        Iface::Ipam,
        r.map(|a| wire::RequestAddressResponse {
            address: a.to_string(),
            data: Default::default(),
        }),
    )
}

async fn release_address(
    State(c): State<Shared>,
    Body(req): Body<wire::AddressRequest>,
) -> Response {
    let addr = match parse::address_request(&req) {
        Ok((Some(a), _)) => a,
        Ok((None, _)) => {
            return failed(
                Iface::Ipam,
                &NetdError::invalid("ReleaseAddress needs an Address"),
            );
        }
        Err(e) => return failed(Iface::Ipam, &e),
    };
    let r = run(&c, move |mut c| async move {
        c.plugin_release_address(&req.pool_id, addr)
    })
    .await;
    ok(Iface::Ipam, r.map(|()| json!({})))
}
