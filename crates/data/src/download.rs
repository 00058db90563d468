//! Downloading the official archive over HTTP(S), resumable, then installing it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::DataError;
use crate::archive::{self, ARCHIVE_NAME, Imported};

/// Where the official archive is published.
pub const OFFICIAL_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

/// How a download is going: bytes on disk, and the total once the server has said it.
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Downloads the archive at `url` into `dir` and installs it, as torchvision does: into
/// `dir/cifar-10-binary.tar.gz.part`, resumed with an HTTP range request if an earlier attempt
/// left one (restarted if the server ignores the range); checks its md5 against `md5` (for the
/// official archive, wherever it is mirrored: [`OFFICIAL_MD5`](crate::OFFICIAL_MD5)); a mismatch
/// deletes the download and is an error; renames it to `dir/cifar-10-binary.tar.gz` (kept, like
/// torchvision keeps it) and [`install`](archive::install)s it. An archive already in `dir` with
/// that md5 is installed without downloading again.
pub fn download(
    url: &str,
    md5: &str,
    dir: &Path,
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
    fetch(url, &partial, progress)?;
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

/// Fetches `url` into `partial`, continuing after the bytes it already holds.
fn fetch(url: &str, partial: &Path, progress: Progress<'_>) -> Result<(), DataError> {
    let http = |detail: String| DataError::Http {
        url: url.to_string(),
        detail,
    };
    let io_error = |source| DataError::Io {
        path: partial.to_path_buf(),
        source,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        // A stalled server is an interruption to report, not a reason to hang.
        .timeout_per_read(Some(Duration::from_secs(60)))
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
        out.write_all(&buffer[..n]).map_err(io_error)?;
        received += n as u64;
        progress(received, total);
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
