#![allow(clippy::expect_used, clippy::panic)] // a test fails by panicking

//! The downloader against a local HTTP server on 127.0.0.1: checksum pass and fail, an
//! interrupted transfer resumed with a range request, a server that ignores ranges, errors.
//!
//! The server is a few lines over `TcpListener` rather than an HTTP crate because the tests need
//! to cut a connection in the middle of a body, which servers built to be correct do not do.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use stepwise_data::{ARCHIVE_NAME, DataError, Limits, download, load, md5_hex};
use support::{files_under, layout, tar_gz, write};

/// What the server does with each request, in order (the last one repeats).
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Honours `Range`.
    Serve,
    /// Announces the whole file, sends this many bytes, closes the connection.
    CutAfter(usize),
    /// Sends the whole file with status 200 whatever the request asked.
    IgnoreRange,
    /// 404.
    NotFound,
    /// Announces no length and sends zeros until the client goes away.
    Endless,
    /// Announces the whole file and sends one byte every 50 ms.
    Trickle,
}

struct TestServer {
    url: String,
    /// The `Range` header of every request (None where absent).
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

/// Reads a request head and returns its `Range` header, if any.
fn read_range(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut range = None;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
        line.clear();
    }
    range
}

fn respond(mut stream: TcpStream, status: &str, headers: &[String], body: &[u8], announced: usize) {
    let mut head =
        format!("HTTP/1.1 {status}\r\nContent-Length: {announced}\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

fn serve(body: Vec<u8>, script: Vec<Behaviour>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/cifar-10-binary.tar.gz",
        listener.local_addr().expect("addr")
    );
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ranges);
    thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let range = read_range(&stream);
            seen.lock().expect("lock").push(range.clone());
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            let len = body.len();
            match (script[i.min(script.len() - 1)], start) {
                (Behaviour::Serve, Some(start)) if start >= len => {
                    let range = format!("Content-Range: bytes */{len}");
                    respond(stream, "416 Range Not Satisfiable", &[range], b"", 0);
                }
                (Behaviour::Serve, Some(start)) => {
                    let range = format!("Content-Range: bytes {start}-{}/{len}", len - 1);
                    respond(
                        stream,
                        "206 Partial Content",
                        &[range],
                        &body[start..],
                        len - start,
                    );
                }
                (Behaviour::Serve | Behaviour::IgnoreRange, _) => {
                    respond(stream, "200 OK", &[], &body, len);
                }
                (Behaviour::CutAfter(n), _) => respond(stream, "200 OK", &[], &body[..n], len),
                (Behaviour::NotFound, _) => respond(stream, "404 Not Found", &[], b"gone", 4),
                (Behaviour::Endless, _) => {
                    let mut stream = stream;
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                    while stream.write_all(&[0; 1 << 16]).is_ok() {}
                }
                (Behaviour::Trickle, _) => {
                    let mut stream = stream;
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    for byte in &body {
                        if stream.write_all(&[*byte]).is_err() {
                            break;
                        }
                        thread::sleep(std::time::Duration::from_millis(50));
                    }
                }
            }
        }
    });
    TestServer { url, ranges }
}

/// Limits that let the tests' archive through: no known size, a 1 GiB ceiling, any rate over a
/// 30-second window.
fn limits() -> Limits {
    Limits {
        exact: None,
        ceiling: 1 << 30,
        min_bytes_per_second: 1,
        window: std::time::Duration::from_secs(30),
    }
}

fn archive_and_md5(dir: &std::path::Path) -> (Vec<u8>, String) {
    let bytes = tar_gz(&layout());
    let md5 = md5_hex(&write(dir, "reference.tar.gz", &bytes)).expect("md5");
    (bytes, md5)
}

#[test]
fn a_download_with_the_right_checksum_is_installed() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, md5) = archive_and_md5(scratch.path());
    let server = serve(bytes.clone(), vec![Behaviour::Serve]);
    let dir = scratch.path().join("data");
    let mut reports = Vec::new();
    let imported = download(&server.url, &md5, &dir, &limits(), &mut |done, total| {
        reports.push((done, total))
    })
    .expect("download");
    assert_eq!(imported.md5, md5);
    assert_eq!(load(&dir).expect("installed").test.len(), 1_000);
    // The archive is kept, byte for byte; progress ended at the whole size, known from the start.
    assert_eq!(
        std::fs::read(dir.join(ARCHIVE_NAME)).expect("archive"),
        bytes
    );
    assert_eq!(
        reports.last(),
        Some(&(bytes.len() as u64, Some(bytes.len() as u64)))
    );
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0));
    assert!(!dir.join(format!("{ARCHIVE_NAME}.part")).exists());

    // Again: the archive on disk has the right md5, so nothing is fetched.
    download(&server.url, &md5, &dir, &limits(), &mut |_, _| {}).expect("reinstall");
    assert_eq!(server.ranges.lock().expect("lock").len(), 1);
}

#[test]
fn a_wrong_checksum_deletes_the_download_and_installs_nothing() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, _) = archive_and_md5(scratch.path());
    let server = serve(bytes, vec![Behaviour::Serve]);
    let dir = scratch.path().join("data");
    let expected = "00000000000000000000000000000000";
    let err =
        download(&server.url, expected, &dir, &limits(), &mut |_, _| {}).expect_err("checksum");
    assert!(matches!(err, DataError::Checksum { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: md5 is ", server.url)),
        "{err}"
    );
    assert!(err.to_string().ends_with(&format!(
        "expected {expected}; the download was deleted; check the address, or run again"
    )));
    assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
}

#[test]
fn an_interrupted_transfer_resumes_where_it_stopped() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, md5) = archive_and_md5(scratch.path());
    let cut = bytes.len() / 3;
    let server = serve(
        bytes.clone(),
        vec![Behaviour::CutAfter(cut), Behaviour::Serve],
    );
    let dir = scratch.path().join("data");

    let err =
        download(&server.url, &md5, &dir, &limits(), &mut |_, _| {}).expect_err("interrupted");
    match &err {
        DataError::Interrupted {
            received, expected, ..
        } => {
            assert_eq!(*received, cut as u64);
            assert_eq!(*expected, Some(bytes.len() as u64));
        }
        other => panic!("expected an interruption, got {other}"),
    }
    assert!(
        err.to_string().ends_with("run the command again to resume"),
        "{err}"
    );
    let partial = dir.join(format!("{ARCHIVE_NAME}.part"));
    assert_eq!(std::fs::read(&partial).expect("kept"), &bytes[..cut]);
    assert!(load(&dir).is_err(), "nothing installed yet");

    download(&server.url, &md5, &dir, &limits(), &mut |_, _| {}).expect("resumed");
    assert_eq!(
        *server.ranges.lock().expect("lock"),
        [None, Some(format!("bytes={cut}-"))]
    );
    assert_eq!(
        std::fs::read(dir.join(ARCHIVE_NAME)).expect("archive"),
        bytes
    );
    assert_eq!(load(&dir).expect("installed").train.len(), 2_000);
}

/// A run stopped between the last byte and the rename leaves a whole `.part`: the server answers
/// 416 to a range past its end, and the checksum, not a new transfer, decides.
#[test]
fn a_whole_partial_file_is_checked_not_fetched_again() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, md5) = archive_and_md5(scratch.path());
    let server = serve(bytes.clone(), vec![Behaviour::Serve]);
    let dir = scratch.path().join("data");
    std::fs::create_dir_all(&dir).expect("mkdir");
    write(&dir, &format!("{ARCHIVE_NAME}.part"), &bytes);
    download(&server.url, &md5, &dir, &limits(), &mut |_, _| {})
        .expect("installed from the partial file");
    assert_eq!(
        *server.ranges.lock().expect("lock"),
        [Some(format!("bytes={}-", bytes.len()))],
        "one request, answered 416, and no second transfer"
    );
    assert_eq!(load(&dir).expect("installed").train.len(), 2_000);
}

#[test]
fn a_server_that_ignores_ranges_gets_a_clean_restart() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, md5) = archive_and_md5(scratch.path());
    let cut = bytes.len() / 2;
    let server = serve(
        bytes.clone(),
        vec![Behaviour::CutAfter(cut), Behaviour::IgnoreRange],
    );
    let dir = scratch.path().join("data");
    assert!(download(&server.url, &md5, &dir, &limits(), &mut |_, _| {}).is_err());
    download(&server.url, &md5, &dir, &limits(), &mut |_, _| {}).expect("restarted");
    assert_eq!(
        std::fs::read(dir.join(ARCHIVE_NAME)).expect("archive"),
        bytes
    );
}

#[test]
fn http_errors_and_unreachable_servers_are_named() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let server = serve(Vec::new(), vec![Behaviour::NotFound]);
    let err =
        download(&server.url, "x", scratch.path(), &limits(), &mut |_, _| {}).expect_err("404");
    assert_eq!(
        err.to_string(),
        format!("download of {} failed: HTTP status 404", server.url)
    );

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/x.tar.gz", closed.local_addr().expect("addr"));
    drop(closed);
    let err = download(&url, "x", scratch.path(), &limits(), &mut |_, _| {}).expect_err("refused");
    assert!(matches!(err, DataError::Http { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("download of {url} failed: "))
    );
}

/// A server that announces another size than the archive's, or more than a mirror may send, is
/// refused before a byte is written; one that sends without end is cut off at the limit, and
/// nothing of it is kept.
#[test]
fn downloads_are_bounded_in_size() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, md5) = archive_and_md5(scratch.path());
    let len = bytes.len() as u64;
    let dir = scratch.path().join("data");
    let partial = dir.join(format!("{ARCHIVE_NAME}.part"));

    let server = serve(bytes.clone(), vec![Behaviour::Serve]);
    let exact = Limits {
        exact: Some(len - 1),
        ..limits()
    };
    let err = download(&server.url, &md5, &dir, &exact, &mut |_, _| {}).expect_err("size");
    assert!(matches!(err, DataError::TooLarge { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "download of {}: the server announces {len} bytes, but the archive is {} bytes; \
             nothing of it was kept",
            server.url,
            len - 1
        )
    );
    let ceiling = Limits {
        ceiling: len - 1,
        ..limits()
    };
    let err = download(&server.url, &md5, &dir, &ceiling, &mut |_, _| {}).expect_err("ceiling");
    assert!(
        err.to_string().contains(&format!(
            "the server announces {len} bytes, more than the {} accepted from a mirror",
            len - 1
        )),
        "{err}"
    );
    assert!(!partial.exists());

    let endless = serve(Vec::new(), vec![Behaviour::Endless]);
    let small = Limits {
        ceiling: 1 << 20,
        ..limits()
    };
    let err = download(&endless.url, &md5, &dir, &small, &mut |_, _| {}).expect_err("endless");
    assert_eq!(
        err.to_string(),
        format!(
            "download of {}: the server sent more than the 1048576 bytes the archive can be; \
             nothing of it was kept",
            endless.url
        )
    );
    assert!(!partial.exists(), "nothing a retry could use is left");
    assert!(load(&dir).is_err());
}

/// A server that trickles is abandoned once a whole window passes below the rate; what came is
/// kept, and the next attempt resumes from it.
#[test]
fn a_trickling_download_is_abandoned_and_resumes() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (bytes, md5) = archive_and_md5(scratch.path());
    let server = serve(bytes.clone(), vec![Behaviour::Trickle, Behaviour::Serve]);
    let dir = scratch.path().join("data");
    let impatient = Limits {
        min_bytes_per_second: 1000,
        window: std::time::Duration::from_secs(1),
        ..limits()
    };
    let started = std::time::Instant::now();
    let err = download(&server.url, &md5, &dir, &impatient, &mut |_, _| {}).expect_err("slow");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let DataError::Interrupted {
        received, detail, ..
    } = &err
    else {
        panic!("expected an interruption, got {err}");
    };
    assert!(*received > 0 && *received < 100, "{received} bytes");
    assert!(
        detail.ends_with("below the 1000 bytes/s accepted"),
        "{detail}"
    );
    assert!(
        err.to_string().ends_with("run the command again to resume"),
        "{err}"
    );
    let kept = std::fs::read(dir.join(format!("{ARCHIVE_NAME}.part"))).expect("kept");
    assert_eq!(kept, &bytes[..kept.len()]);

    download(&server.url, &md5, &dir, &impatient, &mut |_, _| {}).expect("resumed");
    assert_eq!(
        server.ranges.lock().expect("lock")[1],
        Some(format!("bytes={}-", kept.len()))
    );
    assert_eq!(load(&dir).expect("installed").train.len(), 2_000);
}
