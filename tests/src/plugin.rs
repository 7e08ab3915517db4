//! A plain client of netd's plugin socket, speaking as dockerd does
//! (HTTP/1.1 POST, JSON, Docker's plugin `Accept` header), and the
//! container side of a `Join` done as libnetwork does it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::Value;

use crate::run;

/// The default plugin socket (inside a test host's private `/run`).
pub const SOCKET: &str = "/run/docker/plugins/netd.sock";

/// Posts `body` (raw text) to `path`; returns the status and the body.
pub fn post_raw(socket: &Path, path: &str, body: &str) -> (u16, String) {
    let mut s = UnixStream::connect(socket).expect("connecting to the plugin socket");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: netd\r\nUser-Agent: Go-http-client/1.1\r\n\
         Accept: application/vnd.docker.plugins.v1.2+json\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("sending the request");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("reading the answer");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Posts a JSON value to `path` on the default socket; returns the status
/// and the decoded answer.
pub fn call(path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = post_raw(Path::new(SOCKET), path, &body.to_string());
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {text:?}: {e}"));
    (status, value)
}

/// Posts and expects success: 200 and no `Err`/`Error`; returns the answer.
pub fn call_ok(path: &str, body: &Value) -> Value {
    let (status, v) = call(path, body);
    assert_eq!(status, 200, "{path}: {v}");
    assert!(
        v.get("Err").is_none() && v.get("Error").is_none(),
        "{path} failed: {v}"
    );
    v
}

/// Posts and expects an operation failure in `field` (`Err` or `Error`);
/// returns its message.
pub fn call_err(path: &str, body: &Value, field: &str) -> String {
    let (status, v) = call(path, body);
    assert_eq!(status, 200, "{path}: {v}");
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path} should fail with {field}: {v}"))
        .to_owned()
}

/// Does in `netns` what libnetwork does after `Join`: moves `src` in,
/// renames it `name`, gives it `addr` (with prefix length), brings it up
/// and routes the default through `gateway`.
pub fn take_interface(netns: &str, src: &str, name: &str, addr: &str, gateway: &str) {
    let ns = Path::new(netns)
        .file_name()
        .and_then(|f| f.to_str())
        .expect("a namespace under /run/netns");
    run("ip", &["link", "set", src, "netns", ns]);
    for cmd in [
        &["link", "set", src, "name", name][..],
        &["addr", "add", addr, "dev", name],
        &["link", "set", name, "up"],
        &["link", "set", "lo", "up"],
        &["route", "add", "default", "via", gateway],
    ] {
        let mut args = vec!["-n", ns];
        args.extend_from_slice(cmd);
        run("ip", &args);
    }
}
