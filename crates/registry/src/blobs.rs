//! Content-addressed blob store: `DATA/blobs/sha256/ab/abcd…`. A blob is written to a
//! temp file of this process in `DATA/tmp` (see `datadir`), fsynced and renamed into
//! place before the database refers to it, so a process killed mid-upload leaves at most
//! a stray temp file (removed by a later start once its process is gone).
//!
//! Imports only `datadir` (temp names); used by the state and the archivist.

use std::io;
use std::path::{Path, PathBuf};

use std::io::Write;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

/// How much of an upload is held before it is written.
const WRITE_CHUNK: usize = 128 * 1024;

pub(crate) struct Blobs {
    root: PathBuf,
    tmp: PathBuf,
}

impl Blobs {
    /// The store in `data_dir`, writing temp files into `tmp` (prepared by `datadir`).
    pub(crate) fn open(data_dir: &Path, tmp: PathBuf) -> io::Result<Blobs> {
        let root = data_dir.join("blobs").join("sha256");
        std::fs::create_dir_all(&root)?;
        Ok(Blobs { root, tmp })
    }

    /// Where the blob with this hex digest lives (it may not exist).
    pub(crate) fn path(&self, sha: &str) -> Option<PathBuf> {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let sha = sha.to_ascii_lowercase();
        Some(self.root.join(&sha[..2]).join(sha))
    }

    /// Streams a request body into the store; returns its sha256 (lower-case hex).
    /// Nothing is visible under `blobs/` unless the whole body arrived.
    pub(crate) async fn store(&self, body: axum::body::Body) -> io::Result<String> {
        let tmp_path = self.tmp.join(crate::datadir::temp_name());
        let result = self.store_inner(body, &tmp_path).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp_path).await;
        }
        result
    }

    async fn store_inner(&self, body: axum::body::Body, tmp_path: &Path) -> io::Result<String> {
        // Body chunks (16 KiB and less) are gathered into a buffer of WRITE_CHUNK; a full
        // buffer is written on the blocking pool while the next one fills, so an upload
        // holds at most two (a tokio file behind a 1 MiB BufWriter held up to 3 MiB per
        // upload: 57 MiB for 20 concurrent publishers of 515 MiB).
        let path = tmp_path.to_path_buf();
        let file = blocking(move || std::fs::File::create(path)).await?;
        let mut writing = tokio::task::spawn_blocking(move || Ok((file, Vec::new())));
        let mut hasher = Sha256::new();
        let mut buf = Vec::with_capacity(WRITE_CHUNK);
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io::Error::other)?;
            hasher.update(&chunk);
            buf.extend_from_slice(&chunk);
            if buf.len() >= WRITE_CHUNK {
                let (file, spare) = writing.await.map_err(io::Error::other)??;
                writing = write_out(file, std::mem::replace(&mut buf, spare));
            }
        }
        let (file, _) = writing.await.map_err(io::Error::other)??;
        let (file, _) = write_out(file, buf).await.map_err(io::Error::other)??;
        blocking(move || file.sync_all()).await?;
        let sha = hex::encode(hasher.finalize());
        let dest = self.path(&sha).expect("a sha256 hex digest");
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(tmp_path, &dest).await?;
        if let Some(parent) = dest.parent() {
            if let Ok(dir) = std::fs::File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        Ok(sha)
    }
}

/// `work` (file I/O) on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

/// What [`write_out`] hands back: the file, and the buffer emptied for reuse.
type Written = io::Result<(std::fs::File, Vec<u8>)>;

/// Starts writing `buf` to `file` on the blocking pool.
fn write_out(mut file: std::fs::File, mut buf: Vec<u8>) -> tokio::task::JoinHandle<Written> {
    tokio::task::spawn_blocking(move || {
        file.write_all(&buf)?;
        buf.clear();
        Ok((file, buf))
    })
}
