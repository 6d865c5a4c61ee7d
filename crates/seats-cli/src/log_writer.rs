//! The server's log lines reach stderr from a thread of their own, several lines per write
//! when they come fast (docs/performance.md, "The HTTP stack").
//!
//! Every request logs a line; written by the request's own task, each was a `write` system
//! call on the runtime's worker, about a twentieth of a cheap request's CPU under load. Here a
//! line is appended to a buffer (one lock, in order with every other line), and a thread
//! writes what the buffer holds: at once when the log was quiet, and at most once a
//! millisecond when it is busy, so a burst of lines costs a few writes. Nothing is dropped:
//! when stderr is slower than the lines (a full pipe), a line's writer waits for room, as it
//! waited for stderr before. [`Flusher`] has the thread write what is left when the server
//! stops, in order, lines logged meanwhile included; lines logged after the thread ended are
//! written to stderr by their own writer.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Most bytes held for the thread; a line that finds more waits for it to write them.
const HELD_MAX: usize = 1 << 20;
/// Least time between two writes: lines that come meanwhile go out together.
const EVERY: Duration = Duration::from_millis(1);

struct Held {
    bytes: Vec<u8>,
    /// The flusher asked the thread to write what is held and end.
    stopping: bool,
    /// The thread wrote its last and ended: a line's writer writes it to `out` itself.
    closed: bool,
}

struct Shared {
    held: Mutex<Held>,
    /// Signalled when the buffer stops being empty, and when the flusher asks the thread to end.
    filled: Condvar,
    /// Signalled when the thread took the buffer, and when it ended.
    drained: Condvar,
    held_max: usize,
    /// Where the lines go (stderr), written by the thread until it ends.
    out: Mutex<Box<dyn Write + Send>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Held> {
        // A line's writer does not panic while holding the lock, but never lose the log for it.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `bytes` to `out`: the thread's batches, and after it ended each line.
    fn write_out(&self, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(bytes).and_then(|()| out.flush())
    }

    /// Waits on `signal` (one of the two condition variables), as [`Shared::lock`] locks.
    fn wait<'a>(&self, signal: &Condvar, held: MutexGuard<'a, Held>) -> MutexGuard<'a, Held> {
        signal.wait(held).unwrap_or_else(|e| e.into_inner())
    }
}

/// What the log's formatter writes to (a [`MakeWriter`]).
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Ends the writing thread when dropped, after it wrote every line it was given.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the thread that writes the log's lines to `out`.
pub fn start(out: impl Write + Send + 'static) -> io::Result<(LogWriter, Flusher)> {
    start_with(out, HELD_MAX)
}

fn start_with(out: impl Write + Send + 'static, held_max: usize) -> io::Result<(LogWriter, Flusher)> {
    let shared = Arc::new(Shared {
        held: Mutex::new(Held {
            bytes: Vec::new(),
            stopping: false,
            closed: false,
        }),
        filled: Condvar::new(),
        drained: Condvar::new(),
        held_max,
        out: Mutex::new(Box::new(out)),
    });
    let writing = shared.clone();
    let thread = thread::Builder::new().name("seats-log".into()).spawn(move || {
        let mut taken = Vec::new();
        let mut last: Option<Instant> = None;
        loop {
            let mut held = writing.lock();
            while held.bytes.is_empty() && !held.stopping {
                held = writing.wait(&writing.filled, held);
            }
            if held.bytes.is_empty() {
                // Asked to stop, and everything written: later lines' writers write them.
                held.closed = true;
                drop(held);
                writing.drained.notify_all();
                return;
            }
            if let Some(wait) = last.and_then(|at| EVERY.checked_sub(at.elapsed())) {
                if !held.stopping {
                    drop(held);
                    thread::sleep(wait);
                    held = writing.lock();
                }
            }
            std::mem::swap(&mut held.bytes, &mut taken);
            drop(held);
            writing.drained.notify_all();
            // Nowhere to report a failed write of the log to but the log.
            let _ = writing.write_out(&taken);
            taken.clear();
            last = Some(Instant::now());
        }
    })?;
    let flusher = Flusher {
        shared: shared.clone(),
        thread: Some(thread),
    };
    Ok((LogWriter(shared), flusher))
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.filled.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer: the formatter writes a whole line in one call.
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = self.0;
        let mut held = shared.lock();
        while held.bytes.len() >= shared.held_max && !held.closed {
            held = shared.wait(&shared.drained, held);
        }
        if held.closed {
            drop(held);
            shared.write_out(line)?;
            return Ok(line.len());
        }
        let was_empty = held.bytes.is_empty();
        held.bytes.extend_from_slice(line);
        drop(held);
        if was_empty {
            shared.filled.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A sink that records each write, and blocks its first until `release` is sent.
    #[derive(Clone)]
    struct Sink {
        writes: Arc<Mutex<Vec<Vec<u8>>>>,
        gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
    }

    impl Sink {
        fn new(gated: bool) -> (Sink, mpsc::Sender<()>) {
            let (release, gate) = mpsc::channel();
            let sink = Sink {
                writes: Default::default(),
                gate: Arc::new(Mutex::new(gated.then_some(gate))),
            };
            (sink, release)
        }

        fn text(&self) -> String {
            String::from_utf8(self.writes.lock().unwrap().concat()).unwrap()
        }
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let gate = self.gate.lock().unwrap().take();
            if let Some(gate) = gate {
                gate.recv().unwrap();
            }
            self.writes.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn log(writer: &LogWriter, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    /// A log holding at most `held_max` bytes whose thread is held in the write of its first
    /// line until `release` is sent.
    fn held_in_first_write(held_max: usize) -> (Sink, mpsc::Sender<()>, LogWriter, Flusher) {
        let (sink, release) = Sink::new(true);
        let (writer, flusher) = start_with(sink.clone(), held_max).unwrap();
        log(&writer, "first\n");
        while sink.gate.lock().unwrap().is_some() {
            thread::yield_now();
        }
        (sink, release, writer, flusher)
    }

    /// Line `i` of the 100 that [`logs_numbered`] logs.
    fn numbered(i: usize) -> String {
        format!("line {i:03}\n")
    }

    /// Logs the 100 [`numbered`] lines on a thread of their own, then says so on `done`.
    fn logs_numbered(writer: &LogWriter, done: mpsc::Sender<()>) -> thread::JoinHandle<()> {
        let writer = writer.clone();
        thread::spawn(move || {
            for i in 0..100 {
                log(&writer, &numbered(i));
            }
            let _ = done.send(());
        })
    }

    /// What the sink holds when the first line and then the numbered ones all came out in order.
    fn first_then_numbered() -> String {
        std::iter::once("first\n".to_owned())
            .chain((0..100).map(numbered))
            .collect()
    }

    #[test]
    fn every_line_arrives_whole_and_in_each_writer_s_order() {
        let (sink, _release) = Sink::new(false);
        let (writer, flusher) = start(sink.clone()).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let writer = writer.clone();
                thread::spawn(move || {
                    for i in 0..1000 {
                        log(&writer, &format!("thread {t} line {i} {}\n", "x".repeat(i % 50)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(flusher);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8000);
        let mut next = [0usize; 8];
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            let (t, i): (usize, usize) = (words[1].parse().unwrap(), words[3].parse().unwrap());
            assert_eq!(i, next[t], "thread {t}'s lines in order: {line}");
            assert_eq!(words[4], "x".repeat(i % 50), "the line whole: {line}");
            next[t] += 1;
        }
    }

    #[test]
    fn lines_that_come_while_one_is_written_go_out_in_one_write() {
        let (sink, release, writer, flusher) = held_in_first_write(HELD_MAX);
        // The thread is held in the first line's write; these wait in the buffer.
        for i in 0..500 {
            log(&writer, &format!("line {i}\n"));
        }
        release.send(()).unwrap();
        drop(flusher);
        let writes = sink.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 2, "the first line, then the other 500 together");
        assert_eq!(writes[0], b"first\n");
        assert_eq!(writes[1].iter().filter(|&&b| b == b'\n').count(), 500);
    }

    #[test]
    fn a_line_waits_for_room_rather_than_being_dropped() {
        let (sink, release, writer, flusher) = held_in_first_write(64);
        let (done_tx, done) = mpsc::channel();
        let producer = logs_numbered(&writer, done_tx);
        // Lines are held until 64 bytes are: the ninth waits for the held first write to end.
        assert!(
            done.recv_timeout(Duration::from_millis(200)).is_err(),
            "the writer waited for room"
        );
        assert!(writer.0.lock().bytes.len() <= 64 + numbered(0).len());
        release.send(()).unwrap();
        producer.join().unwrap();
        drop(flusher);
        assert_eq!(sink.text(), first_then_numbered(), "nothing lost, nothing out of order");
    }

    #[test]
    fn lines_waiting_for_room_when_the_server_stops_are_written_in_order() {
        let (sink, release, writer, flusher) = held_in_first_write(64);
        let producer = logs_numbered(&writer, mpsc::channel().0);
        // The producer waits for room while the flusher asks the thread to stop.
        while writer.0.lock().bytes.len() < 64 {
            thread::yield_now();
        }
        let stopping = thread::spawn(move || drop(flusher));
        while !writer.0.lock().stopping {
            thread::yield_now();
        }
        release.send(()).unwrap();
        producer.join().unwrap();
        stopping.join().unwrap();
        assert_eq!(
            sink.text(),
            first_then_numbered(),
            "every line, in order, none written ahead of those held"
        );
    }

    #[test]
    fn the_flusher_writes_what_is_left_and_later_lines_still_go_out() {
        let (sink, _release) = Sink::new(false);
        let (writer, flusher) = start(sink.clone()).unwrap();
        for i in 0..100 {
            log(&writer, &format!("line {i}\n"));
        }
        drop(flusher);
        assert_eq!(sink.text().lines().count(), 100, "written before the flusher returned");
        assert!(writer.0.lock().closed);
        // After the thread ended a line's writer writes it itself, without waiting.
        log(&writer, "after the end\n");
        assert_eq!(sink.text().lines().last(), Some("after the end"));
    }
}
