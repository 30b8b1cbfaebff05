//! Content-addressed blob store: `DATA/blobs/sha256/ab/abcd…`. A blob is written to a
//! temp file of this process in `DATA/tmp` (see `datadir`), fsynced and renamed into
//! place before the database refers to it, so a process killed mid-upload leaves at most
//! a stray temp file (removed by a later start once its process is gone).
//!
//! Imports only `datadir` (temp names); used by the state and the archivist.

use std::io;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

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
        // Buffered: body chunks are small (16 KiB and less) and every write of a tokio
        // file goes through the blocking pool.
        let mut file = tokio::io::BufWriter::with_capacity(
            1024 * 1024,
            tokio::fs::File::create(tmp_path).await?,
        );
        let mut hasher = Sha256::new();
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io::Error::other)?;
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.get_ref().sync_all().await?;
        drop(file);
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
