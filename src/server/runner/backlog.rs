//! The runner's backlog of one agent's outputs that the server has not yet acknowledged.
//!
//! The runner forwards every output of an agent with a sequence number (1, 2, 3, ...) and
//! keeps it until the server acks it (the server acks only once the output is stored), so
//! that after a reconnect it can resend everything past the last stored number. Nothing is
//! ever dropped: past a memory limit outputs spill to a file, and once that file reaches its
//! own limit the backlog reports itself full and the caller stops reading the agent's
//! stdout (pausing the agent) until acks free room.
//!
//! Order is kept by one rule: once anything is in the spill file, new outputs go to the file
//! too, until the file has been read back into memory entirely and deleted.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// One agent's unacknowledged outputs, in seq order: in memory up to a limit, then in a spill file.
pub struct Backlog {
    spill_path: PathBuf,
    memory_limit: usize,
    spill_limit: u64,
    /// The oldest outputs, in seq order; all older than any in the spill file.
    memory: VecDeque<(u64, String)>,
    /// Sum of the texts' lengths in `memory`.
    memory_bytes: usize,
    /// The spill file while it holds entries not yet read back (never `Some` with none).
    spill: Option<Spill>,
    last_seq: u64,
}

/// The open spill file: lines `"{seq} {text}\n"`, read back from `read` on.
struct Spill {
    file: File,
    /// Bytes written since the file was created (its size).
    written: u64,
    /// Offset of the first line not yet moved back to memory.
    read: u64,
    /// Lines from `read` to the end.
    count: usize,
}

impl Backlog {
    /// `spill_path`: the file used past `memory_limit` bytes (created only when needed,
    /// removed when drained and on drop); `spill_limit`: bytes the file may hold before the
    /// backlog is full.
    pub fn new(spill_path: PathBuf, memory_limit: usize, spill_limit: u64) -> Backlog {
        Backlog {
            spill_path,
            memory_limit,
            spill_limit,
            memory: VecDeque::new(),
            memory_bytes: 0,
            spill: None,
            last_seq: 0,
        }
    }

    /// Appends output `seq` (already encoded as one line of JSON text without newline; it
    /// never contains '\n'). Seqs must be pushed in increasing order (debug_assert). Errors
    /// only on spill-file I/O (std::io::Error) — the caller reports it.
    ///
    /// It goes to memory unless the spill file is in use or it would take memory past its
    /// limit (an entry larger than the limit is still kept in memory when memory is empty).
    /// A push while [`Backlog::is_full`] still succeeds (it grows the file): fullness is
    /// advice to the caller, which should stop reading the agent, not a refusal. After an
    /// error the backlog is unchanged (a partly written line is cut off again).
    pub fn push(&mut self, seq: u64, text: String) -> io::Result<()> {
        debug_assert!(seq > self.last_seq, "seqs pushed out of order");
        debug_assert!(!text.contains('\n'), "an output's text holds a newline");
        if self.spill.is_none() && self.fits(&text) {
            self.memory_bytes += text.len();
            self.memory.push_back((seq, text));
        } else {
            self.spill_line(seq, &text)?;
        }
        self.last_seq = seq;
        Ok(())
    }

    /// Whether `text` may go to memory: it is empty, or has room for it.
    fn fits(&self, text: &str) -> bool {
        self.memory.is_empty() || self.memory_bytes + text.len() <= self.memory_limit
    }

    /// Writes one line at the end of the spill file, creating the file if needed.
    fn spill_line(&mut self, seq: u64, text: &str) -> io::Result<()> {
        let mut spill = match self.spill.take() {
            Some(spill) => spill,
            None => {
                let mut options = OpenOptions::new();
                options.write(true).create(true).truncate(true).mode(0o600);
                let file = options.open(&self.spill_path)?;
                Spill {
                    file,
                    written: 0,
                    read: 0,
                    count: 0,
                }
            }
        };
        let line = format!("{seq} {text}\n");
        let result = spill.file.write_all(line.as_bytes());
        if result.is_ok() {
            spill.written += line.len() as u64;
            spill.count += 1;
        } else {
            // Cut off whatever part was written, so the file stays whole lines.
            let _ = spill.file.set_len(spill.written);
            let _ = spill.file.seek(SeekFrom::Start(spill.written));
        }
        let empty = spill.count == 0;
        self.spill = Some(spill);
        if result.is_err() && empty {
            let _ = self.remove_spill(); // the file it just created
        }
        result
    }

    /// True when memory is at its limit and the spill file at its own: the caller must stop
    /// reading the agent until `ack` frees room.
    ///
    /// Memory counts as at its limit when its bytes reach the limit or the spill file is in
    /// use (new outputs can only go to the file then). The file's bytes are all bytes written
    /// since it was created, read back or not (its size on disk), so the backlog stays full
    /// until acks let the whole file be read back and deleted; that bounds the disk used.
    pub fn is_full(&self) -> bool {
        let memory_full = self.spill.is_some() || self.memory_bytes >= self.memory_limit;
        memory_full && self.sizes().1 >= self.spill_limit
    }

    /// Drops every output with seq <= `through` (what the server has stored). When memory
    /// empties and the spill file holds entries, moves them back into memory (up to the
    /// memory limit) in order; removes the spill file once it is fully read back.
    ///
    /// Entries are moved back whenever memory has room after the drop, not only when it is
    /// empty. On a read error the entries moved so far stay moved; nothing is lost.
    pub fn ack(&mut self, through: u64) -> io::Result<()> {
        while let Some((_, text)) = self.memory.front().filter(|(seq, _)| *seq <= through) {
            self.memory_bytes -= text.len();
            self.memory.pop_front();
        }
        let Some(mut spill) = self.spill.take() else {
            return Ok(());
        };
        let result = self.refill(&mut spill, through);
        self.spill = Some(spill);
        if self.len() == self.memory.len() {
            self.remove_spill()?;
        }
        result
    }

    /// Moves spilled entries past `through` back into memory while they fit (dropping those
    /// at or before it).
    fn refill(&mut self, spill: &mut Spill, through: u64) -> io::Result<()> {
        if !self.memory.is_empty() && self.memory_bytes >= self.memory_limit {
            return Ok(());
        }
        let mut reader = open_at(&self.spill_path, spill.read)?;
        let mut line = String::new();
        while spill.count > 0 {
            line.clear();
            let n = reader.read_line(&mut line)?;
            let (seq, text) = parse_line(&line)?;
            if seq > through {
                if !self.fits(text) {
                    break;
                }
                self.memory_bytes += text.len();
                self.memory.push_back((seq, text.to_owned()));
            }
            spill.read += n as u64;
            spill.count -= 1;
        }
        Ok(())
    }

    /// Forgets the spill file and deletes it (a missing file is no error).
    fn remove_spill(&mut self) -> io::Result<()> {
        let Some(spill) = self.spill.take() else {
            return Ok(());
        };
        drop(spill.file);
        match std::fs::remove_file(&self.spill_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every kept output with seq > `after`, in order (memory first, then the spill file's
    /// entries, read from disk), for resending after a reconnect.
    pub fn after(&self, after: u64) -> io::Result<Vec<(u64, String)>> {
        let kept = self.memory.iter().filter(|(seq, _)| *seq > after);
        let mut out: Vec<(u64, String)> = kept.cloned().collect();
        let Some(spill) = self.spill.as_ref().filter(|_| after < self.last_seq) else {
            return Ok(out);
        };
        let mut reader = open_at(&self.spill_path, spill.read)?;
        let mut line = String::new();
        for _ in 0..spill.count {
            line.clear();
            reader.read_line(&mut line)?;
            let (seq, text) = parse_line(&line)?;
            if seq > after {
                out.push((seq, text.to_owned()));
            }
        }
        Ok(out)
    }

    /// The highest seq pushed so far (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// How many outputs are kept (memory + spill).
    pub fn len(&self) -> usize {
        self.memory.len() + self.spill.as_ref().map_or(0, |s| s.count)
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of text held in memory, and bytes in the spill file (for status reports).
    ///
    /// The file's bytes are its size: every line written since it was created, including
    /// those already read back into memory (0 when there is no file).
    pub fn sizes(&self) -> (usize, u64) {
        (
            self.memory_bytes,
            self.spill.as_ref().map_or(0, |s| s.written),
        )
    }
}

impl Drop for Backlog {
    /// Removes the spill file if any, ignoring errors.
    fn drop(&mut self) {
        let _ = self.remove_spill();
    }
}

/// The spill file opened for reading at `offset`.
fn open_at(path: &Path, offset: u64) -> io::Result<BufReader<File>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(BufReader::new(file))
}

/// Splits a spill line `"{seq} {text}\n"` into its seq and text.
fn parse_line(line: &str) -> io::Result<(u64, &str)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "spill file line cut short");
    let line = line.strip_suffix('\n').ok_or_else(bad)?;
    let (seq, text) = line.split_once(' ').ok_or_else(bad)?;
    Ok((seq.parse().map_err(|_| bad())?, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seq: u64) -> String {
        format!("{{\"n\":{seq}}}")
    }

    fn expected(range: std::ops::RangeInclusive<u64>) -> Vec<(u64, String)> {
        range.map(|s| (s, text(s))).collect()
    }

    /// A backlog spilling into a fresh temp dir (kept by the first value), holding 1..=`pushed`.
    fn backlog(memory: usize, spill: u64, pushed: u64) -> (tempfile::TempDir, PathBuf, Backlog) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill");
        let mut b = Backlog::new(path.clone(), memory, spill);
        for s in 1..=pushed {
            b.push(s, text(s)).unwrap();
        }
        (dir, path, b)
    }

    #[test]
    fn memory_push_ack_after() {
        let (_dir, path, mut b) = backlog(1 << 20, 1 << 20, 0);
        assert!(b.is_empty() && b.last_seq() == 0);
        for s in 1..=5 {
            b.push(s, text(s)).unwrap();
        }
        assert_eq!((b.len(), b.last_seq()), (5, 5));
        assert_eq!(b.after(0).unwrap(), expected(1..=5));
        assert_eq!(b.after(3).unwrap(), expected(4..=5));
        b.ack(2).unwrap();
        assert_eq!(b.after(0).unwrap(), expected(3..=5));
        assert_eq!(b.sizes(), ((3..=5).map(|s| text(s).len()).sum(), 0));
        b.ack(5).unwrap();
        assert!(b.is_empty());
        assert!(!path.exists());
    }

    #[test]
    fn spills_past_memory_limit_and_resends_in_order() {
        // Each text is 7 bytes ({"n":1} .. {"n":9}): three fit in 24.
        let (_dir, path, b) = backlog(24, 1 << 20, 9);
        let file_len = std::fs::metadata(&path).unwrap().len();
        assert_eq!((b.len(), b.sizes()), (9, (21, file_len)));
        assert_eq!(b.after(0).unwrap(), expected(1..=9));
        assert_eq!(b.after(2).unwrap(), expected(3..=9), "memory and file");
        assert_eq!(b.after(5).unwrap(), expected(6..=9), "file only");
        assert_eq!(b.after(9).unwrap(), vec![]);
    }

    #[test]
    fn ack_reads_back_and_deletes_drained_file() {
        let (_dir, path, mut b) = backlog(24, 1 << 20, 9);
        b.ack(3).unwrap();
        assert_eq!(b.sizes().0, 21, "memory refilled from the file");
        assert!(path.exists());
        assert_eq!(b.after(0).unwrap(), expected(4..=9));
        // Still spilled: a new push goes to the file, after the rest.
        b.push(10, text(10)).unwrap();
        b.ack(7).unwrap();
        assert!(!path.exists(), "drained file removed");
        assert_eq!(b.sizes(), (22, 0));
        assert_eq!(b.after(0).unwrap(), expected(8..=10));
        // With the file gone, pushes go to memory again until it is full.
        b.ack(8).unwrap();
        b.push(11, text(11)).unwrap();
        assert!(!path.exists());
        assert_eq!(b.after(0).unwrap(), expected(9..=11));
    }

    #[test]
    fn full_when_both_limits_reached_until_acked() {
        // Lines in the file are "4 {"n":4}\n", 10 bytes.
        let (_dir, path, mut b) = backlog(24, 20, 4);
        assert!(!b.is_full(), "one line in the file");
        b.push(5, text(5)).unwrap();
        assert!(b.is_full());
        b.push(6, text(6)).unwrap();
        assert!(b.is_full(), "a push while full still succeeds");
        assert_eq!(b.after(0).unwrap(), expected(1..=6));
        b.ack(1).unwrap();
        assert!(b.is_full(), "file not yet drained");
        b.ack(3).unwrap();
        assert!(!b.is_full());
        assert!(!path.exists());
        assert_eq!(b.after(0).unwrap(), expected(4..=6));
    }

    #[test]
    fn order_kept_while_pushing_during_spill() {
        let (_dir, path, mut b) = backlog(40, 100, 0);
        let (mut acked, mut rng) = (0, 0x2545_f491_4f6c_dd1d_u64);
        let (mut fulls, mut spills, mut drains, mut spilled) = (0, 0, 0, false);
        for s in 1..=1000u64 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Like the runner: while full, wait for an ack before reading more.
            if b.is_full() || (rng >> 33) % 4 == 0 {
                fulls += usize::from(b.is_full());
                acked = (acked + 1 + (rng >> 40) % 8).min(s - 1);
                b.ack(acked).unwrap();
            }
            b.push(s, text(s)).unwrap();
            spills += usize::from(!spilled && path.exists());
            drains += usize::from(spilled && !path.exists());
            spilled = path.exists();
            assert_eq!(b.after(0).unwrap(), expected(acked + 1..=s), "at {s}");
            assert_eq!(b.len() as u64, s - acked);
            let mid = acked + (s - acked) / 2;
            assert_eq!(b.after(mid).unwrap(), expected(mid + 1..=s));
        }
        assert!(fulls > 10 && spills > 10 && drains > 10);
        b.ack(1000).unwrap();
        assert!(b.is_empty());
        assert!(!path.exists());
    }

    #[test]
    fn drop_removes_spill_file() {
        let (_dir, path, mut b) = backlog(8, 1 << 20, 0);
        b.push(1, text(1)).unwrap();
        assert!(!path.exists(), "file created only when needed");
        b.push(2, text(2)).unwrap();
        assert!(path.exists());
        drop(b);
        assert!(!path.exists());
    }

    #[test]
    fn oversize_entry_kept_in_memory_when_empty() {
        let (_dir, path, mut b) = backlog(4, 1 << 20, 0);
        let big = "x".repeat(100);
        b.push(1, big.clone()).unwrap();
        assert!(!path.exists());
        assert_eq!(b.sizes(), (100, 0));
        b.push(2, big.clone()).unwrap();
        assert!(path.exists(), "the second goes to the file");
        b.ack(1).unwrap();
        assert!(!path.exists(), "read back into empty memory, oversize");
        assert_eq!(b.after(0).unwrap(), vec![(2, big)]);
    }
}
