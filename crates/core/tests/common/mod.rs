//! Test support: a real server on 127.0.0.1 over a temporary root (in this process, or the
//! `daebug` binary), a tiny HTTP/1.1 client, and helpers that wait for files on disk to say
//! something.

#![allow(dead_code)]

use daebug_core::engine::{Engine, Options};
use daebug_core::http::security::AllowedHosts;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct TestServer {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn server(configure: impl FnOnce(&mut Options)) -> TestServer {
    server_with_read_timeout(configure, daebug_core::server::READ_TIMEOUT).await
}

/// A server whose connections time out half-sent requests after `read_timeout`.
pub async fn server_with_read_timeout(
    configure: impl FnOnce(&mut Options),
    read_timeout: Duration,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<html><head><title>t</title></head><body>hi</body></html>",
    )
    .unwrap();
    let mut opts = Options::new(dir.path());
    opts.long_poll = Duration::from_secs(2);
    configure(&mut opts);
    let engine = Engine::new(opts).unwrap();
    engine.start().unwrap();
    let app = daebug_core::http::standalone(engine.clone(), AllowedHosts::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The same accept loop as the standalone server and the napi listener.
    tokio::spawn(daebug_core::server::serve_http(
        listener,
        app,
        read_timeout,
        std::future::pending(),
    ));
    let root = engine.root().to_path_buf();
    TestServer {
        addr,
        engine,
        root,
        _dir: dir,
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl TestServer {
    pub fn log(&self, realm: &str) -> PathBuf {
        self.root.join("daebug").join(format!("{realm}.md"))
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        let s = TcpStream::connect(self.addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req.push_str(&format!("Host: localhost:{}\r\n", self.addr.port()));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        exchange(s, req.into_bytes()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], "").await
    }

    /// Long poll as realm `name`.
    pub async fn poll(&self, name: &str) -> Resp {
        self.get(&format!(
            "/-daebug-channel?name={name}&url=http%3A%2F%2Flocalhost%2F"
        ))
        .await
    }

    /// Long poll as realm `name` until a job is handed out (15 s at most). A job appended just
    /// before reaches the queue through the file watcher; on a loaded machine that can take
    /// longer than one long poll, which is not a failure.
    pub async fn poll_job(&self, name: &str) -> Resp {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let r = self.poll(name).await;
            if r.header("x-job-id").is_some() || Instant::now() > deadline {
                return r;
            }
        }
    }

    pub async fn post(&self, name: &str, body: &str) -> Resp {
        self.request(
            "POST",
            &format!("/-daebug-channel?name={name}&url=http%3A%2F%2Flocalhost%2F"),
            &[("Content-Type", "application/json")],
            body,
        )
        .await
    }

    pub fn append(&self, realm: &str, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.log(realm))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }
}

/// Send `request` and read the response while the request is still being written. A server may
/// answer early and close (a `413` for an oversized body): the write then fails with EPIPE or
/// ECONNRESET, which is expected, and the response already sent is still read. Panics only when
/// no response arrived at all.
pub async fn exchange(stream: TcpStream, request: Vec<u8>) -> Resp {
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        // Errors here mean the server stopped reading: its answer tells why.
        let _ = wr.write_all(&request).await;
        let _ = wr.flush().await;
        wr // dropping it would half-close the connection; the reader decides when we are done
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let read_error = loop {
        match rd.read(&mut chunk).await {
            Ok(0) => break None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // A reset after the response arrived (the server closed with our body unread).
            Err(e) => break Some(e),
        }
    };
    writer.abort();
    if buf.is_empty() {
        panic!("no response from the server (read error: {read_error:?})");
    }
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// Wait until `path` exists and `pred` holds for its content; panics with the content after `secs`.
pub async fn wait_for_file(path: &Path, secs: u64, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if pred(&text) {
            return text;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting on {}; it holds:\n{text}", path.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `daebug` binary serving `root` on a free loopback port, once it printed its URL; its
/// output is drained so that it never blocks on a full pipe. Killed when the child is dropped.
pub async fn spawn_binary(root: &Path) -> (tokio::process::Child, SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port().to_string();
    drop(free);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_daebug"))
        .args(["--root", root.to_str().unwrap(), "--port", &port])
        .env_remove("PORT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.trim().strip_prefix("serving") {
                let url = url.trim().trim_end_matches('/');
                return url.rsplit(':').next().unwrap().parse().unwrap();
            }
        }
        panic!("daebug exited before serving");
    })
    .await
    .expect("daebug printed its URL");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("127.0.0.1:{port}").parse().unwrap())
}
