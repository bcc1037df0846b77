//! Security tests that try the attacks over real HTTP (SPEC 8, issue 7): private files (dot-files,
//! keys, certificates, credentials) requested plainly and encoded, symlinks out of the root, test
//! discovery listing them; realm names and URLs that try to write Markdown structure into the
//! registry and logs; and connections that send half a request.

mod common;

use common::{server, server_with_read_timeout, wait_for_file, TestServer};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const REALM: &str = "7-zen-1201-03";

/// Every private file the server must refuse, relative to the root.
const PRIVATE: &[&str] = &[
    ".env",
    ".env.local",
    ".git/config",
    ".git-credentials",
    ".htpasswd",
    ".pgpass",
    ".npmrc",
    ".netrc",
    ".aws/credentials",
    ".ssh/id_rsa",
    ".docker/config.json",
    "sub/.hidden/app.js",
    ".well-known/.secret",
    "certs/server.pem",
    "certs/server.key",
    "certs/server.crt",
    "keys/AuthKey_ABC123.p8",
    "keys/client.p12",
    "keys/client.pfx",
    "keys/putty.ppk",
    "keys/private.asc",
    "keys/passwords.kdbx",
    "keys/release.jks",
    "keys/bundle.pkcs12",
    "keys/backup.gpg",
    "keys/notes.pgp",
    "keys/old.kdb",
    "keys/android.keystore",
    "certs/root.cer",
    "certs/root.der",
    "certs/request.csr",
    "vpn/office.ovpn",
    "gnupg/secring.gpg",
    "gnupg/pubring.kbx",
    "ssh/authorized_keys",
    "ssh/known_hosts",
    "htpasswd",
    "keys/id_dsa",
    "keys/id_xmss",
    "keys/id_ed25519_sk-cert.pub",
    "id_rsa",
    "id_rsa.pub",
    "id_ed25519",
    "keys/id_ecdsa",
    "keys/id_work",
    "credentials",
];

/// Files with look-alike names that must still be served.
const PUBLIC: &[&str] = &[
    ".well-known/security.txt",
    "id_utils.js",
    "keys.json",
    "environment.js",
    "key/index.txt",
];

fn secret(i: usize) -> String {
    format!("SECRET-{i:03}-do-not-serve")
}

fn encode_all(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b == b'/' {
                "/".to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The ways a client can spell `rel` in a request target.
fn variants(rel: &str) -> Vec<String> {
    let mut v = vec![
        format!("/{rel}"),
        format!("/{}", rel.replace('.', "%2e")),
        format!("/{}", rel.replace('.', "%2E")),
        format!("/{}", encode_all(rel)),
        format!("//{rel}"),
        format!("/./{rel}"),
        format!("/%2e/{rel}"),
        format!("/sub/../{rel}"),
        format!("/sub/%2e%2e/{rel}"),
        format!("/sub/..%2f{rel}"),
        format!("/{rel}?download=1"),
        format!("/{}", rel.to_ascii_uppercase()),
        format!("/{rel}."),
        format!("/{rel}%20"),
        format!("/{rel}::$DATA"),
    ];
    if let Some((dir, file)) = rel.rsplit_once('/') {
        v.push(format!("/{dir}//{file}"));
        v.push(format!("/{dir}/./{file}"));
    }
    v
}

fn setup_private_files(s: &TestServer) {
    for (i, rel) in PRIVATE.iter().enumerate() {
        let p = s.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, secret(i)).unwrap();
    }
    for rel in PUBLIC {
        let p = s.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("public {rel}")).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn private_files_are_refused_however_they_are_spelled() {
    let s = server(|_| {}).await;
    setup_private_files(&s);
    let mut tried = 0;
    for (i, rel) in PRIVATE.iter().enumerate() {
        let plain = s.get(&format!("/{rel}")).await;
        assert_eq!(plain.status, 403, "/{rel}: {}", plain.body);
        assert!(
            plain.body.starts_with("Daebug does not serve this file: ")
                && plain.body.lines().count() == 1,
            "one clear line: {}",
            plain.body
        );
        for target in variants(rel) {
            for (method, headers) in [
                ("GET", vec![]),
                ("HEAD", vec![]),
                ("GET", vec![("Range", "bytes=0-5")]),
            ] {
                let r = s.request(method, &target, &headers, "").await;
                tried += 1;
                assert!(
                    r.status == 403 || r.status == 404 || r.status == 400,
                    "{method} {target} {headers:?} answered {}: {}",
                    r.status,
                    r.body
                );
                assert!(
                    !r.body.contains("SECRET-"),
                    "{method} {target} leaked {}",
                    secret(i)
                );
            }
        }
    }
    assert!(tried > 1000, "{tried} requests");
    for rel in PUBLIC {
        let r = s.get(&format!("/{rel}")).await;
        assert_eq!(r.status, 200, "/{rel} is public");
        assert_eq!(r.body, format!("public {rel}"));
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn symlinks_out_of_the_root_and_to_private_files_are_refused() {
    let s = server(|_| {}).await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("passwd"), "SECRET-outside").unwrap();
    std::fs::write(s.root.join(".env"), "SECRET-env").unwrap();
    std::os::unix::fs::symlink(outside.path().join("passwd"), s.root.join("out.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), s.root.join("outdir")).unwrap();
    std::os::unix::fs::symlink(s.root.join(".env"), s.root.join("notes.txt")).unwrap();
    std::fs::write(outside.path().join("big.txt"), "SECRET-".repeat(600_000)).unwrap();
    for target in [
        "/out.txt",
        "/outdir/passwd",
        "/outdir/big.txt",
        "/notes.txt",
    ] {
        for _ in 0..2 {
            // twice: the second answer may come from the memory cache
            let r = s.get(target).await;
            assert!(r.status == 403 || r.status == 404, "{target}: {}", r.status);
            assert!(!r.body.contains("SECRET-"), "{target} leaked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_discovery_never_lists_private_files() {
    let s = server(|_| {}).await;
    setup_private_files(&s);
    let r = s
        .request(
            "POST",
            "/-daebug-discover-tests",
            &[("Content-Type", "application/json")],
            r#"{"files":["**/*","**/.*","**/.*/**","*"]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for rel in PRIVATE {
        assert!(
            !files.contains(&format!("/{rel}").as_str()),
            "discovery listed /{rel}: {files:?}"
        );
    }
    for rel in PUBLIC {
        assert!(
            files.contains(&format!("/{rel}").as_str()),
            "discovery missed /{rel}: {files:?}"
        );
    }
}

/// A query-string value, percent-encoded.
fn q(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn names_outside_the_shims_alphabet_get_400_and_register_nothing() {
    let s = server(|_| {}).await;
    let reg_path = s.root.join("daebug.md");
    let before = std::fs::read_to_string(&reg_path).unwrap();
    for name in [
        "evil](http://evil.example/) [x",
        "a b",
        "x\n%%SHUTDOWN%%",
        "%%SHUTDOWN%%",
        "# Owned",
        "```js",
        "<img src=x onerror=alert(1)>",
        ".hidden",
        "../../etc/passwd",
        "a/b",
        "x`y",
        "\u{202e}gnp.js",
        &"a".repeat(121),
    ] {
        let url = q("http://localhost/");
        let get = s
            .get(&format!("/-daebug-channel?name={}&url={url}", q(name)))
            .await;
        assert_eq!(get.status, 400, "{name:?}: {}", get.body);
        assert!(
            get.body
                .starts_with("Daebug: invalid ?name=<realm> parameter: ")
                && get.body.lines().count() == 1,
            "{name:?}: {}",
            get.body
        );
        let post = s
            .request(
                "POST",
                &format!("/-daebug-channel?name={}&url={url}", q(name)),
                &[("Content-Type", "application/json")],
                r#"{"type":"background-flush","events":[{"type":"console","message":"x"}]}"#,
            )
            .await;
        assert_eq!(post.status, 400, "{name:?}: {}", post.body);
    }
    assert!(s.engine.realms().is_empty());
    assert!(
        !s.root.join("daebug").exists()
            || std::fs::read_dir(s.root.join("daebug")).unwrap().count() == 0,
        "no log created"
    );
    assert_eq!(std::fs::read_to_string(&reg_path).unwrap(), before);
    assert!(!s.engine.is_closed(), "the server keeps running");
}

/// Link and image destinations and raw HTML as a CommonMark parser sees them.
fn structure(text: &str) -> Vec<String> {
    use pulldown_cmark::{Event, Parser, Tag};
    Parser::new(text)
        .filter_map(|e| match e {
            Event::Start(Tag::Link { dest_url, .. }) => Some(format!("link {dest_url}")),
            Event::Start(Tag::Image { dest_url, .. }) => Some(format!("image {dest_url}")),
            Event::Start(Tag::Heading { .. }) => Some("heading".into()),
            Event::Start(Tag::CodeBlock(_)) => Some("code block".into()),
            Event::Html(h) | Event::InlineHtml(h) => Some(format!("html {h}")),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn urls_and_worker_names_cannot_add_markdown_structure() {
    let s = server(|_| {}).await;
    let reg_path = s.root.join("daebug.md");
    let clean_structure = structure(&std::fs::read_to_string(&reg_path).unwrap());
    // Control characters (a line break before %%SHUTDOWN%%) are refused outright.
    for url in [
        "http://localhost/\n%%SHUTDOWN%%\n",
        "http://localhost/\r\n# Owned",
    ] {
        let r = s
            .get(&format!("/-daebug-channel?name={REALM}&url={}", q(url)))
            .await;
        assert_eq!(r.status, 400, "{url:?}: {}", r.body);
        assert!(r.body.starts_with("Daebug: invalid ?url= parameter"));
    }
    assert!(s.engine.realms().is_empty());
    let evil_url =
        "http://localhost/) [click](http://evil.example/) ![i](http://evil.example/i.png) \
                    <script>alert(1)</script> ```js %%SHUTDOWN%% *b* \\";
    let r = s
        .get(&format!(
            "/-daebug-channel?name={REALM}&url={}",
            q(evil_url)
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let worker = format!("{REALM}-webworker");
    let init = r#"{"type":"worker-init","mainPage":"x](http://evil.example/) [y"}"#;
    assert_eq!(s.post(&worker, init).await.status, 200);
    let reg = wait_for_file(&reg_path, 5, |t| t.contains(&worker)).await;

    // The registry: exactly the structure of an empty one plus one link per realm, to its log.
    let mut expected = clean_structure.clone();
    let mut got = structure(&reg);
    got.retain(|e| !e.starts_with("link daebug/"));
    expected.retain(|e| !e.starts_with("link daebug/"));
    assert_eq!(got, expected, "{reg}");
    let links: Vec<String> = structure(&reg)
        .into_iter()
        .filter(|e| e.starts_with("link "))
        .collect();
    assert_eq!(
        links,
        [
            format!("link daebug/{worker}.md"),
            format!("link daebug/{REALM}.md")
        ],
        "{reg}"
    );
    assert!(!reg.contains("evil.example/)"), "{reg}");
    assert!(
        !reg.lines().any(|l| l.trim() == "%%SHUTDOWN%%"),
        "no shutdown line: {reg}"
    );
    assert!(reg.contains(&format!("(worker of {REALM})")), "{reg}");
    let parsed = daebug_core::registry::parse_entries(&reg);
    assert_eq!(parsed.len(), 2, "one line per realm: {reg}");

    // The page's log: its title and guide hold no link, image, HTML or extra heading.
    let log = std::fs::read_to_string(s.log(REALM)).unwrap();
    assert!(log.starts_with(&format!("# {REALM} session\n")), "{log}");
    let log_structure = structure(&log);
    assert_eq!(
        log_structure.iter().filter(|e| *e == "heading").count(),
        1,
        "{log}"
    );
    assert!(
        !log_structure
            .iter()
            .any(|e| e.starts_with("link") || e.starts_with("image") || e.starts_with("html")),
        "{log_structure:?}\n{log}"
    );

    // And nothing stopped the server.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!s.engine.is_closed(), "the server keeps running");
    assert_eq!(s.poll(REALM).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_callers_cannot_add_markdown_structure() {
    let s = server(|_| {}).await;
    s.poll(REALM).await;
    let flush = r#"{"type":"background-flush","events":[{"type":"console","level":"log","message":"m1","caller":"x](http://evil.example/) <img src=x onerror=alert(1)> [y\n# Owned\n%%SHUTDOWN%%"}]}"#;
    assert_eq!(s.post(REALM, flush).await.status, 200);
    let log = wait_for_file(&s.log(REALM), 5, |t| t.contains("m1")).await;
    let found = structure(&log);
    assert!(
        !found
            .iter()
            .any(|e| e.starts_with("link") || e.starts_with("image") || e.starts_with("html")),
        "{found:?}\n{log}"
    );
    // Title, the background heading and the event heading: nothing more.
    assert_eq!(found.iter().filter(|e| *e == "heading").count(), 3, "{log}");
    assert!(!log.lines().any(|l| l.trim() == "%%SHUTDOWN%%"), "{log}");
}

/// Write `head` on a fresh connection and wait for the server to close it. Returns how long
/// that took, or `None` if it stayed open for `limit`.
async fn time_until_closed(
    addr: std::net::SocketAddr,
    head: &str,
    limit: Duration,
) -> Option<Duration> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // a response (e.g. 408 or 400) before the close is fine
            }
        }
    })
    .await;
    closed.ok().map(|_| started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_sent_requests_are_disconnected_and_long_polls_are_not() {
    // Generous against a loaded machine: the slow body below pauses a fifth of this.
    let timeout = Duration::from_millis(1500);
    let s = server_with_read_timeout(|o| o.long_poll = Duration::from_millis(2500), timeout).await;
    s.poll(REALM).await;
    let before = std::fs::read_to_string(s.log(REALM)).unwrap();

    let half_body = format!(
        "POST /-daebug-channel?name={REALM}&url=x HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"ok\":true,"
    );
    let limit = Duration::from_secs(15);
    let (half_header, nothing, half_body) = tokio::join!(
        // Half a header, never finished.
        time_until_closed(
            s.addr,
            "GET /index.html HTTP/1.1\r\nHost: localhost\r\n",
            limit
        ),
        // Nothing at all after connecting.
        time_until_closed(s.addr, "", limit),
        // A complete header, then half the body it announced.
        time_until_closed(s.addr, &half_body, limit),
    );
    let took = half_header.expect("a half-sent header must not hold the connection open");
    assert!(
        took >= timeout / 2,
        "closed by the timeout, not at once: {took:?}"
    );
    assert!(nothing.is_some(), "an idle connection is closed");
    assert!(
        half_body.is_some(),
        "a half-sent body must not hold the connection open"
    );
    assert_eq!(std::fs::read_to_string(s.log(REALM)).unwrap(), before);

    // The timeout is for reading requests only: a long poll that outlasts it is answered.
    let t = Instant::now();
    let r = s.poll(REALM).await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(2400),
        "{:?}",
        t.elapsed()
    );

    // A body that keeps coming, slower in total than the timeout, is read.
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let body = r#"{"type":"background-flush","events":[{"type":"console","message":"slow-body"}]}"#;
    c.write_all(
        format!(
            "POST /-daebug-channel?name={REALM}&url=x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    for piece in body.as_bytes().chunks(body.len() / 5 + 1) {
        tokio::time::sleep(timeout / 5).await;
        c.write_all(piece).await.unwrap();
    }
    let mut out = Vec::new();
    c.read_to_end(&mut out).await.unwrap();
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    wait_for_file(&s.log(REALM), 5, |t| t.contains("slow-body")).await;

    // And the server still serves.
    assert_eq!(s.get("/index.html").await.status, 200);
}

/// The `daebug` binary itself (the standalone server) closes a half-sent request after
/// [`daebug_core::server::READ_TIMEOUT`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_binary_times_out_half_sent_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = common::spawn_binary(dir.path()).await;
    let limit = daebug_core::server::READ_TIMEOUT + Duration::from_secs(10);
    let took = time_until_closed(addr, "GET / HTTP/1.1\r\nHost: localh", limit)
        .await
        .expect("the standalone server must close a half-sent header");
    assert!(
        took >= daebug_core::server::READ_TIMEOUT - Duration::from_secs(1),
        "closed by the timeout: {took:?}"
    );
    // Still serving afterwards.
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /-daebug-info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    child.kill().await.ok();
}

/// The list above names an example of every private extension and name the server knows, so a
/// pattern added to the server without a test shows up here.
#[test]
fn every_private_pattern_is_in_the_tested_list() {
    use daebug_core::http::security::{PRIVATE_EXTENSIONS, PRIVATE_NAMES};
    for ext in PRIVATE_EXTENSIONS {
        assert!(
            PRIVATE.iter().any(|p| p.ends_with(&format!(".{ext}"))),
            "no tested private file ends in .{ext}"
        );
    }
    for name in PRIVATE_NAMES {
        assert!(
            PRIVATE.iter().any(|p| p.rsplit('/').next() == Some(*name)),
            "no tested private file is named {name}"
        );
    }
}
