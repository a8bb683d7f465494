//! The conditional-request cache: GitHub's answers to `GET`s, with their `ETag`, kept on disk so
//! that the next resync can ask "has this changed?" (`If-None-Match`). GitHub answers an
//! unchanged resource with `304 Not Modified`, which does not count against the rate limit; the
//! cached body is then used as the answer.
//!
//! Why disk and not memory: a resync must still yield every item (an item not yielded is deleted
//! from Port), so a 304 needs the whole previous body — and those bodies grow with the
//! organization. In memory they would make the process's size grow with the organization; on
//! disk they cost a file read per page, and the process stays bounded by its page size.
//!
//! One file per request URL and credential scope, named by a SHA-256 of both, written to a
//! temporary name then renamed (a reader never sees half a file; several processes may share
//! the folder). The folder is created `0700` and files `0600`: they hold what the credential can
//! read. A file's modification time is its last use; [`EtagCache::evict_older_than`] removes the
//! unused ones (repositories that are gone).

use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A cached answer: its validator and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedAnswer {
    /// The `ETag` GitHub sent.
    pub etag: String,
    /// The `Link` header GitHub sent (pagination), if any.
    pub link: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// The cache folder; cheap to share.
#[derive(Debug, Clone)]
pub struct EtagCache {
    dir: PathBuf,
}

/// Why the cache folder cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the GitHub HTTP cache folder {dir} cannot be used: {source}")]
pub struct CacheError {
    /// The folder.
    pub dir: String,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

impl EtagCache {
    /// Opens (creating) the cache folder.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let dir = dir.into();
        let error = |source| CacheError {
            dir: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(error)?;
        }
        Ok(EtagCache { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, scope: &str, url: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(scope.as_bytes());
        hasher.update([0u8]);
        hasher.update(url.as_bytes());
        self.dir.join(hex::encode(hasher.finalize()))
    }

    /// The cached answer for `url` under `scope`, if any (and marks it used). One blocking
    /// task reads the file and touches it.
    pub async fn get(&self, scope: &str, url: &str) -> Option<CachedAnswer> {
        let file = self.file(scope, url);
        let bytes = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&file).ok()?;
            // Mark as used (best effort): eviction keeps what the last resyncs read.
            let _ = std::fs::File::options()
                .write(true)
                .open(&file)
                .and_then(|f| f.set_modified(SystemTime::now()));
            Some(bytes)
        })
        .await
        .ok()??;
        decode(Bytes::from(bytes))
    }

    /// Only the `ETag` of the cached answer for `url` under `scope`, if any: what a conditional
    /// request sends. The body is read ([`get`](Self::get)) only once GitHub answers `304`, so
    /// requests waiting for a slot hold no cached body.
    pub async fn etag(&self, scope: &str, url: &str) -> Option<String> {
        let file = self.file(scope, url);
        tokio::task::spawn_blocking(move || {
            use std::io::BufRead as _;
            let mut first = Vec::new();
            std::io::BufReader::new(std::fs::File::open(&file).ok()?)
                .read_until(b'\n', &mut first)
                .ok()?;
            let etag = std::str::from_utf8(first.strip_suffix(b"\n")?).ok()?;
            (!etag.is_empty()).then(|| etag.to_owned())
        })
        .await
        .ok()?
    }

    /// Stores an answer (best effort: a cache that cannot be written only costs quota).
    pub async fn put(&self, scope: &str, url: &str, answer: &CachedAnswer) {
        let file = self.file(scope, url);
        let encoded = encode(answer);
        let result = tokio::task::spawn_blocking(move || write_atomically(&file, &encoded)).await;
        if let Ok(Err(error)) = result {
            tracing::debug!(%error, "could not write to the GitHub HTTP cache");
        }
    }

    /// Forgets the answer for `url` (e.g. after GitHub answered it with an error).
    pub async fn remove(&self, scope: &str, url: &str) {
        let _ = tokio::fs::remove_file(self.file(scope, url)).await;
    }

    /// Removes answers not used for `age`; returns how many.
    pub fn evict_older_than(&self, age: Duration) -> usize {
        let Some(cutoff) = SystemTime::now().checked_sub(age) else {
            return 0;
        };
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified < cutoff);
            if old && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// `etag \n link \n body` (the link line is empty without one).
fn encode(answer: &CachedAnswer) -> Vec<u8> {
    let link = answer.link.as_deref().unwrap_or("");
    let mut out = Vec::with_capacity(answer.etag.len() + link.len() + answer.body.len() + 2);
    out.extend_from_slice(answer.etag.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(link.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&answer.body);
    out
}

fn decode(bytes: Bytes) -> Option<CachedAnswer> {
    let first = bytes.iter().position(|b| *b == b'\n')?;
    let second = first + 1 + bytes[first + 1..].iter().position(|b| *b == b'\n')?;
    let etag = std::str::from_utf8(&bytes[..first]).ok()?.to_owned();
    let link = std::str::from_utf8(&bytes[first + 1..second]).ok()?;
    if etag.is_empty() {
        return None;
    }
    Some(CachedAnswer {
        etag,
        link: (!link.is_empty()).then(|| link.to_owned()),
        body: bytes.slice(second + 1..),
    })
}

fn write_atomically(file: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(data)?;
    drop(f);
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_round_trip_per_scope_and_url() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EtagCache::open(dir.path().join("c")).unwrap();
        let answer = CachedAnswer {
            etag: "W/\"abc\"".into(),
            link: Some("<https://x/?page=2>; rel=\"next\"".into()),
            body: Bytes::from_static(b"[{\"id\":1}]\n"),
        };
        cache.put("pat:1", "https://x/repos", &answer).await;
        assert_eq!(
            cache.etag("pat:1", "https://x/repos").await.as_deref(),
            Some("W/\"abc\"")
        );
        assert_eq!(cache.get("pat:1", "https://x/repos").await, Some(answer));
        assert_eq!(cache.etag("pat:2", "https://x/repos").await, None);
        assert_eq!(cache.get("pat:2", "https://x/repos").await, None);
        assert_eq!(cache.get("pat:1", "https://x/other").await, None);
        let no_link = CachedAnswer {
            etag: "\"e\"".into(),
            link: None,
            body: Bytes::new(),
        };
        cache.put("s", "u", &no_link).await;
        assert_eq!(cache.get("s", "u").await, Some(no_link));
        cache.remove("s", "u").await;
        assert_eq!(cache.get("s", "u").await, None);
        assert_eq!(cache.evict_older_than(Duration::from_secs(3600)), 0);
        assert_eq!(cache.evict_older_than(Duration::ZERO), 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let cache = EtagCache::open(dir.path().join("c")).unwrap();
        let mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
