//! A deterministic parallel gzip writer (pigz's scheme) for module archives.
//!
//! The uncompressed stream is cut into fixed blocks of [`BLOCK`] bytes. Each block is
//! deflated on its own by a worker thread, primed with the last 32 KiB of the block before
//! it as the dictionary (so matches reach across the cut, as in one stream), and ended
//! with a sync flush (byte-aligned), the last one with the final block. The raw deflate
//! pieces are written in block order after one fixed gzip header, then the CRC-32 and
//! length of the whole stream. The output depends only on the input and the level, never
//! on the number of threads or their timing: byte-identical across runs and machines (as
//! far as the deflate implementation itself is deterministic, which zlib-rs is).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Uncompressed bytes per independently deflated block.
pub const BLOCK: usize = 256 * 1024;
/// The deflate window: how much of the previous block primes the next.
const DICT: usize = 32 * 1024;
/// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS "unknown".
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

struct Job {
    index: u64,
    dict: Vec<u8>,
    data: Vec<u8>,
    last: bool,
}

type Done = (u64, io::Result<Vec<u8>>);

/// gzip of everything written, deflated at `level` by `workers` threads.
pub struct ParGzWriter<W: Write> {
    inner: W,
    level: u32,
    buf: Vec<u8>,
    tail: Vec<u8>,
    crc: Crc,
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    ready: BTreeMap<u64, Vec<u8>>,
    submitted: u64,
    written: u64,
    max_in_flight: u64,
}

impl<W: Write> ParGzWriter<W> {
    /// A writer with `workers` deflate threads (at least one).
    pub fn new(mut inner: W, level: u32, workers: usize) -> io::Result<Self> {
        inner.write_all(&HEADER)?;
        let workers = workers.max(1);
        let (jobs, rx) = mpsc::channel::<Job>();
        let (tx, done) = mpsc::channel::<Done>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers {
            let (rx, tx) = (rx.clone(), tx.clone());
            std::thread::spawn(move || loop {
                let job = match rx.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                let out = deflate_block(level, &job.dict, &job.data, job.last);
                if tx.send((job.index, out)).is_err() {
                    return;
                }
            });
        }
        Ok(ParGzWriter {
            inner,
            level,
            buf: Vec::with_capacity(BLOCK),
            tail: Vec::new(),
            crc: Crc::new(),
            jobs: Some(jobs),
            done,
            ready: BTreeMap::new(),
            submitted: 0,
            written: 0,
            max_in_flight: 2 * workers as u64 + 1,
        })
    }

    /// The compression level this writer uses.
    pub fn level(&self) -> u32 {
        self.level
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        let dict = std::mem::take(&mut self.tail);
        self.tail = data[data.len().saturating_sub(DICT)..].to_vec();
        let job = Job {
            index: self.submitted,
            dict,
            data,
            last,
        };
        let sent = self.jobs.as_ref().map(|j| j.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(io::Error::other("the deflate workers stopped"));
        }
        self.submitted += 1;
        while self.submitted - self.written >= self.max_in_flight {
            self.collect_one()?;
        }
        Ok(())
    }

    /// Wait for one finished block, then write every block that is next in order.
    fn collect_one(&mut self) -> io::Result<()> {
        let (i, out) = self
            .done
            .recv()
            .map_err(|_| io::Error::other("the deflate workers stopped"))?;
        self.ready.insert(i, out?);
        while let Some(block) = self.ready.remove(&self.written) {
            self.inner.write_all(&block)?;
            self.written += 1;
        }
        Ok(())
    }

    /// Deflate what is left, write the trailer, and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while self.written < self.submitted {
            self.collect_one()?;
        }
        self.jobs = None;
        let crc = self.crc.sum();
        let len = self.crc.amount();
        self.inner.write_all(&crc.to_le_bytes())?;
        self.inner.write_all(&len.to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParGzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.crc.update(&data[..n]);
        if self.buf.len() == BLOCK {
            self.submit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Raw deflate of one block primed with `dict`: sync-flushed, or final when `last`.
fn deflate_block(level: u32, dict: &[u8], data: &[u8], last: bool) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 256);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == data.len();
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if all_in && !last && room_left => return Ok(out),
            _ if !room_left => out.reserve(64 * 1024),
            Status::BufError => return Err(io::Error::other("deflate made no progress")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Text-like bytes that compress, with some noise, `n` long.
    fn sample(n: usize) -> Vec<u8> {
        let words = [
            "resource", "variable", "output", "module", "subnet", "cidr", "tags",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 5 == 0 {
                v.extend_from_slice(&x.to_le_bytes());
            } else {
                v.extend_from_slice(words[(x % 7) as usize].as_bytes());
                v.push(b' ');
            }
        }
        v.truncate(n);
        v
    }

    fn gz(data: &[u8], workers: usize, chunk: usize) -> Vec<u8> {
        let mut w = ParGzWriter::new(Vec::new(), 7, workers).unwrap();
        for c in data.chunks(chunk.max(1)) {
            w.write_all(c).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn same_bytes_whatever_the_threads_and_writes() {
        let data = sample(3 * BLOCK + 12_345);
        let one = gz(&data, 1, 1 << 20);
        assert_eq!(one, gz(&data, 4, 777));
        assert_eq!(one, gz(&data, 2, 64 * 1024));
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn empty_and_exact_block_inputs_round_trip() {
        for n in [0, 1, BLOCK, 2 * BLOCK] {
            let data = sample(n);
            let out = gz(&data, 2, 4096);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{n} bytes");
        }
    }

    #[test]
    fn the_dictionary_keeps_the_size_of_one_stream() {
        let data = sample(8 * BLOCK);
        let par = gz(&data, 2, 1 << 20).len() as f64;
        let mut one = flate2::write::GzEncoder::new(Vec::new(), Compression::new(7));
        one.write_all(&data).unwrap();
        let one = one.finish().unwrap().len() as f64;
        assert!(par / one < 1.002, "parallel {par} vs one stream {one}");
    }
}
