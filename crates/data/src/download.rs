//! Downloading the official archive over HTTP(S), resumable, then installing it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::DataError;
use crate::archive::{self, ARCHIVE_NAME, Imported};
use crate::error::printable;

/// Where the official archive is published.
pub const OFFICIAL_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// The official archive's size in bytes.
pub const OFFICIAL_SIZE: u64 = 170_052_171;

/// How large and how slow a download may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The exact size of the file (the official archive's), when it is known: a server that
    /// announces another size is refused, one that sends more is cut off.
    pub exact: Option<u64>,
    /// The most bytes taken from a server whose file's size is not known (a mirror).
    pub ceiling: u64,
    /// A transfer slower than this many bytes a second over a whole [`window`](Self::window) is
    /// abandoned, its bytes kept for the next attempt.
    pub min_bytes_per_second: u64,
    /// The span over which the rate is measured, and the longest wait for a single read.
    pub window: Duration,
}

impl Limits {
    /// The limits for `url`: the official archive's exact size at its official address; a
    /// 512 MiB ceiling elsewhere (three times the archive, room for a mirror's own compression);
    /// at least 10 KiB/s over each minute (the archive then takes under five hours).
    pub fn for_url(url: &str) -> Self {
        Self {
            exact: (url == OFFICIAL_URL).then_some(OFFICIAL_SIZE),
            ceiling: 512 << 20,
            min_bytes_per_second: 10 << 10,
            window: Duration::from_secs(60),
        }
    }

    /// The most bytes accepted.
    const fn most(&self) -> u64 {
        match self.exact {
            Some(size) => size,
            None => self.ceiling,
        }
    }

    /// Why a file of `total` bytes is refused, if it is.
    fn refuses(&self, total: u64) -> Option<String> {
        match self.exact {
            Some(size) if total != size => Some(format!(
                "the server announces {total} bytes, but the archive is {size} bytes"
            )),
            None if total > self.ceiling => Some(format!(
                "the server announces {total} bytes, more than the {} accepted from a mirror",
                self.ceiling
            )),
            _ => None,
        }
    }
}

/// How a download is going: bytes on disk, and the total once the server has said it.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Downloads the archive at `url` into `dir` and installs it, as torchvision does: into
/// `dir/cifar-10-binary.tar.gz.part`, resumed with an HTTP range request if an earlier attempt
/// left one (restarted if the server ignores the range); checks its md5 against `md5` (for the
/// official archive, wherever it is mirrored: [`OFFICIAL_MD5`](crate::OFFICIAL_MD5)); a mismatch
/// deletes the download and is an error; renames it to `dir/cifar-10-binary.tar.gz` (kept, like
/// torchvision keeps it) and [`install`](archive::install)s it. An archive already in `dir` with
/// that md5 is installed without downloading again. The transfer keeps to `limits` (see
/// [`Limits::for_url`]).
pub fn download(
    url: &str,
    md5: &str,
    dir: &Path,
    limits: &Limits,
    progress: Progress<'_>,
) -> Result<Imported, DataError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let archive = dir.join(ARCHIVE_NAME);
    let installed = |archive: &Path| -> Result<Imported, DataError> {
        Ok(Imported {
            batches: archive::install(archive, dir)?,
            md5: md5.to_string(),
            official: md5 == archive::OFFICIAL_MD5,
        })
    };
    if archive.is_file() && archive::md5_hex(&archive)? == md5 {
        return installed(&archive);
    }
    let partial = dir.join(format!("{ARCHIVE_NAME}.part"));
    fetch(url, &partial, limits, progress)?;
    let actual = archive::md5_hex(&partial)?;
    if actual != md5 {
        // A wrong file is useless to resume from: the next attempt starts afresh.
        fs::remove_file(&partial).map_err(io_error(&partial))?;
        return Err(DataError::Checksum {
            path: PathBuf::from(url),
            expected: md5.to_string(),
            actual,
            advice: "the download was deleted; check the address, or run again",
        });
    }
    fs::rename(&partial, &archive).map_err(io_error(&archive))?;
    installed(&archive)
}

/// Fetches `url` into `partial`, continuing after the bytes it already holds, within `limits`.
fn fetch(
    url: &str,
    partial: &Path,
    limits: &Limits,
    progress: Progress<'_>,
) -> Result<(), DataError> {
    let http = |detail: String| DataError::Http {
        url: url.to_string(),
        detail: printable(&detail),
    };
    // Bytes past any archive this can be: useless to resume from, so they are not kept.
    let too_large = |detail: String| {
        let _ = fs::remove_file(partial);
        DataError::TooLarge {
            url: url.to_string(),
            detail,
        }
    };
    let io_error = |source| DataError::Io {
        path: partial.to_path_buf(),
        source,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        // A stalled server is an interruption to report, not a reason to hang.
        .timeout_per_read(Some(limits.window))
        .http_status_as_error(false)
        .build()
        .into();
    let have = fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    let mut request = agent.get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = request.call().map_err(|err| http(err.to_string()))?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (start, total) = match status {
        200 => (
            0,
            header("content-length").and_then(|v| v.parse::<u64>().ok()),
        ),
        206 => {
            let range = header("content-range").unwrap_or_default();
            let (start, total) = parse_content_range(&range)
                .ok_or_else(|| http(format!("unreadable Content-Range '{range}'")))?;
            if start != have {
                return Err(http(format!(
                    "asked for bytes from {have}, the server sent from {start}"
                )));
            }
            (start, total)
        }
        // Nothing after the bytes already held: the partial file is whole (the last run stopped
        // between the last byte and the rename), or longer than the file. The checksum decides,
        // and deletes it when it is wrong.
        416 => return Ok(()),
        _ => return Err(http(format!("HTTP status {status}"))),
    };
    if let Some(reason) = total.and_then(|total| limits.refuses(total)) {
        return Err(too_large(reason));
    }
    let most = limits.most();
    let mut out = if start == 0 {
        File::create(partial)
    } else {
        OpenOptions::new().append(true).open(partial)
    }
    .map_err(io_error)?;
    let mut body = response.into_body().into_reader();
    let mut received = start;
    progress(received, total);
    let mut buffer = vec![0u8; 1 << 16];
    // Where the current rate window began: its time and the bytes received by then.
    let mut window = (Instant::now(), received);
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(DataError::Interrupted {
                    url: url.to_string(),
                    received,
                    expected: total,
                    detail: err.to_string(),
                });
            }
        };
        if received + n as u64 > most {
            drop(out);
            return Err(too_large(format!(
                "the server sent more than the {most} bytes the archive can be"
            )));
        }
        out.write_all(&buffer[..n]).map_err(io_error)?;
        received += n as u64;
        progress(received, total);
        let (began, at_start) = window;
        let elapsed = began.elapsed();
        if elapsed >= limits.window {
            let rate = (received - at_start) as f64 / elapsed.as_secs_f64();
            if rate < limits.min_bytes_per_second as f64 {
                out.sync_all().map_err(io_error)?;
                return Err(DataError::Interrupted {
                    url: url.to_string(),
                    received,
                    expected: total,
                    detail: format!(
                        "{rate:.0} bytes/s over the last {} s, below the {} bytes/s accepted",
                        elapsed.as_secs(),
                        limits.min_bytes_per_second
                    ),
                });
            }
            window = (Instant::now(), received);
        }
    }
    out.sync_all().map_err(io_error)?;
    match total {
        Some(total) if received < total => Err(DataError::Interrupted {
            url: url.to_string(),
            received,
            expected: Some(total),
            detail: "the connection closed early".to_string(),
        }),
        _ => Ok(()),
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL); TOTAL may be `*` (unknown).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn content_range() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
