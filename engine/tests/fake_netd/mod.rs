//! A fake netd for tests: a unix socket that answers canned JSON and
//! records what it was asked; and a way to run berth against it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use engine::cli::{Io, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

/// One request the fake netd received.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) body: String,
}

/// The fake's answer: HTTP status and body.
pub(crate) type Handler = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A running fake netd; the socket lives as long as this value.
pub(crate) struct FakeNetd {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    log: Arc<Mutex<Vec<Request>>>,
}

impl FakeNetd {
    pub(crate) fn start(
        handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("netd.sock");
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (path, requests) = (socket.clone(), Arc::clone(&log));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = UnixListener::bind(&path).unwrap();
                ready_tx.send(()).unwrap();
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    tokio::spawn(answer(stream, Arc::clone(&handler), Arc::clone(&requests)));
                }
            });
        });
        ready_rx.recv().unwrap();
        Self {
            _dir: dir,
            socket,
            log,
        }
    }

    pub(crate) fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// Runs berth against this netd: (exit code, stdout, stderr).
    pub(crate) fn berth(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        berth_at(&self.host(), args, stdin)
    }
}

pub(crate) fn berth_at(host: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut input = stdin.as_bytes();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut io = Io {
        stdin: &mut input,
        stdout: &mut out,
        stderr: &mut err,
    };
    // berth's own state stays out of it: a root and runroot in a directory
    // of the test's, removed after the command (`connect` looks for a
    // container there first).
    let state = tempfile::tempdir().unwrap();
    let mut argv: Vec<OsString> = vec![
        "berth".into(),
        "--netd-host".into(),
        host.into(),
        "--root".into(),
        state.path().join("root").into(),
        "--runroot".into(),
        state.path().join("run").into(),
    ];
    argv.extend(args.iter().map(OsString::from));
    let code = run(argv, &mut io);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

async fn answer(
    mut stream: tokio::net::UnixStream,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Request>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut first = head.lines().next().unwrap().split(' ');
    let request = Request {
        method: first.next().unwrap().to_owned(),
        path: percent_decode(first.next().unwrap()),
        body: String::from_utf8(buf[head_end..head_end + length].to_vec()).unwrap(),
    };
    log.lock().unwrap().push(request.clone());
    let (status, body) = handler(&request);
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
