//! `--capture DIR`: record every connection's traffic for replay.
//!
//! The format is `myongoredis_core::capture` (one text line per record);
//! this file is only the plumbing. Connection threads encode their own
//! records (in parallel, off any lock) into a per-connection buffer and
//! hand one buffer per batch of pipelined commands to a single writer
//! thread, through a **bounded** channel: if the disk falls behind, the
//! connection threads wait rather than the server buffering without
//! limit. The writer flushes to the file whenever it has caught up with
//! the channel, so a server killed with SIGKILL loses at most what was
//! still queued (and an unfinished last line, which readers ignore); on a
//! graceful shutdown everything is written and synced.
//!
//! The order of lines in the file is arrival order; the sequence numbers
//! the executor hands out inside each command's critical section give the
//! order that matters, and replay sorts by them.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};

use crossbeam::channel::{self, Receiver, Sender};
use myongoredis_core::capture::{self, Header, Record};

/// Batches in flight between the connection threads and the writer. One
/// batch is one read's worth of pipelined commands (often a few hundred
/// bytes, at most a few MB), so this bounds the memory to a few hundred
/// MB in the worst case and to far less in practice.
const QUEUE_BATCHES: usize = 4096;

/// The writer's buffer: large enough that a busy server writes in big
/// chunks, small enough that an idle server's file is current.
const WRITE_BUFFER: usize = 256 * 1024;

/// An open capture: the channel to its writer thread.
pub struct Capture {
    tx: Sender<Vec<u8>>,
    writer: JoinHandle<io::Result<u64>>,
    path: PathBuf,
}

impl Capture {
    /// Create `dir` if needed, write the header to `dir/capture.log`
    /// (replacing an older capture) and start the writer thread.
    pub fn start(dir: &Path, header: &Header) -> Result<Capture, String> {
        let path = dir.join(capture::FILE_NAME);
        let fail = |e: io::Error| format!("cannot create capture {}: {e}", path.display());
        fs::create_dir_all(dir).map_err(fail)?;
        let mut file = BufWriter::with_capacity(WRITE_BUFFER, File::create(&path).map_err(fail)?);
        let mut head = Vec::new();
        header.encode(&mut head);
        file.write_all(&head)
            .and_then(|()| file.flush())
            .map_err(fail)?;
        let (tx, rx) = channel::bounded(QUEUE_BATCHES);
        let writer = thread::Builder::new()
            .name("capture".into())
            .spawn(move || write_loop(file, &rx))
            .map_err(|e| format!("cannot start the capture thread: {e}"))?;
        Ok(Capture { tx, writer, path })
    }

    /// Queue encoded records (whole lines). Blocks while the queue is full.
    pub fn send(&self, lines: Vec<u8>) {
        if !lines.is_empty() {
            // Fails only if the writer died (its error is reported by
            // `finish`); the server keeps serving without the capture.
            let _ = self.tx.send(lines);
        }
    }

    /// Queue one record.
    pub fn record(&self, record: &Record) {
        let mut line = Vec::with_capacity(64);
        record.encode(&mut line);
        self.send(line);
    }

    /// Close the queue, let the writer drain it, sync the file. Returns
    /// the file and the bytes written after the header.
    pub fn finish(self) -> Result<(PathBuf, u64), String> {
        drop(self.tx);
        match self.writer.join() {
            Ok(Ok(bytes)) => Ok((self.path, bytes)),
            Ok(Err(e)) => Err(format!("capture {}: {e}", self.path.display())),
            Err(_) => Err(format!(
                "capture {}: the writer thread panicked",
                self.path.display()
            )),
        }
    }
}

/// Write batches until every sender is gone; flush whenever the queue is
/// empty, so the file trails the server by at most what is in flight.
fn write_loop(mut file: BufWriter<File>, rx: &Receiver<Vec<u8>>) -> io::Result<u64> {
    let mut written = 0u64;
    while let Ok(batch) = rx.recv() {
        file.write_all(&batch)?;
        written += batch.len() as u64;
        while let Ok(batch) = rx.try_recv() {
            file.write_all(&batch)?;
            written += batch.len() as u64;
        }
        file.flush()?;
    }
    file.flush()?;
    file.get_ref().sync_data()?;
    Ok(written)
}
