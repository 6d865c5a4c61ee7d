//! The single writer of a SQLite database, with group commit.
//!
//! Every write runs on one thread that owns the write connection. Jobs that queue up while a
//! commit is in flight are run together in one `BEGIN IMMEDIATE` transaction, each after the
//! first inside its own savepoint (a job that fails is rolled back alone; the first, with
//! nothing before it to keep, by rolling back the transaction), and acknowledged only after the one
//! `COMMIT` returned — so one fsync serves many requests while each request still either
//! applies fully or not at all. `BEGIN IMMEDIATE` takes SQLite's write lock, so the checks a
//! job makes (the seat limit) also hold against other processes using the same file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::{StoreError, StoreResult};

/// Most jobs folded into one transaction.
const MAX_GROUP: usize = 256;

type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;
/// Runs inside the open transaction; says whether it succeeded and how to answer its caller
/// once the commit outcome is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

/// What the writer thread runs: a job, folded with others into one transaction, or work that
/// needs the connection to itself, outside any transaction (a restore of a database image).
enum Work {
    Job(Job),
    Alone(Box<dyn FnOnce(&mut Connection) + Send>),
}

pub(crate) struct Writer {
    jobs: mpsc::Sender<Work>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Self {
        let (tx, rx) = mpsc::channel::<Work>();
        thread::Builder::new()
            .name("seats-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .expect("spawning the SQLite writer thread");
        Writer { jobs: tx }
    }

    /// Runs `f` in a write transaction and answers after it committed.
    pub(crate) async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = caught(|| f(conn));
            let ok = outcome.is_ok();
            let finish: Finish = Box::new(move |commit| {
                let _ = tx.send(commit.and(outcome));
            });
            (ok, finish)
        });
        self.submit(Work::Job(job), rx).await
    }

    /// Runs `f` with the write connection to itself, between two groups of jobs and outside
    /// any transaction (it manages its own).
    pub(crate) async fn alone<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let work = Work::Alone(Box::new(move |conn| {
            let _ = tx.send(caught(|| f(conn)));
        }));
        self.submit(work, rx).await
    }

    /// Hands `work` to the writer thread and waits for the answer it sends on `answer`.
    async fn submit<R>(&self, work: Work, answer: oneshot::Receiver<StoreResult<R>>) -> StoreResult<R> {
        self.jobs
            .send(work)
            .map_err(|_| StoreError::other("the SQLite writer has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::other("the SQLite writer dropped a job"))?
    }
}

/// Runs `f`, a panic in it becoming an error: a bug in one job must not stop the writer.
fn caught<R>(f: impl FnOnce() -> StoreResult<R>) -> StoreResult<R> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(StoreError::other("write job panicked")))
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Work>) {
    let mut next = None;
    loop {
        let first = match next.take() {
            Some(work) => work,
            None => match rx.recv() {
                Ok(work) => work,
                Err(_) => return,
            },
        };
        let first = match first {
            Work::Alone(f) => {
                f(&mut conn);
                continue;
            }
            Work::Job(job) => job,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(Work::Job(job)) => group.push(job),
                // Work that needs the connection alone waits for this group to commit.
                Ok(alone) => {
                    next = Some(alone);
                    break;
                }
                Err(_) => break,
            }
        }
        run_group(&conn, group);
    }
}

/// Runs one of the writer's fixed transaction-control statements, parsed once and cached
/// (they run several times per job, so parsing them each time was a tenth of a PATCH's cost).
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn run_group(conn: &Connection, group: Vec<Job>) {
    // A job that is dropped unrun answers its caller with an error (its reply sender goes).
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, jobs = group.len(), "could not begin a SQLite write transaction");
        crate::metrics::storage_error();
        return;
    }
    let started = std::time::Instant::now();
    let size = group.len();
    let mut finishes = Vec::with_capacity(group.len());
    // The statement that broke the transaction, named in the log with SQLite's own codes.
    let mut broken: Option<(&str, rusqlite::Error)> = None;
    // While no job of this transaction has succeeded there is nothing to protect: the job runs
    // without a savepoint, and if it fails the transaction is rolled back and begun again
    // (a group of one, the common case at low load, runs three statements fewer).
    let mut bare = true;
    for job in group {
        if !bare {
            if let Err(e) = control(conn, "SAVEPOINT job") {
                broken = Some(("SAVEPOINT job", e));
                break;
            }
        }
        let (ok, finish) = job(conn);
        finishes.push(finish);
        let end = match (bare, ok) {
            (true, true) => {
                bare = false;
                Ok(())
            }
            // SQLite may have ended the transaction itself (e.g. on a full disk).
            (true, false) => match conn.is_autocommit() {
                true => Ok(()),
                false => control(conn, "ROLLBACK").map_err(|e| ("ROLLBACK", e)),
            }
            .and_then(|()| control(conn, "BEGIN IMMEDIATE").map_err(|e| ("BEGIN IMMEDIATE", e))),
            (false, true) => control(conn, "RELEASE job").map_err(|e| ("RELEASE job", e)),
            (false, false) => control(conn, "ROLLBACK TO job")
                .map_err(|e| ("ROLLBACK TO job", e))
                .and_then(|()| control(conn, "RELEASE job").map_err(|e| ("RELEASE job", e))),
        };
        if let Err(e) = end {
            broken = Some(e);
            break;
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => control(conn, "COMMIT").map_err(|e| ("COMMIT", e)),
    };
    let outcome = outcome.map_err(|(statement, e)| {
        let code = e.sqlite_error().map(|f| f.extended_code);
        tracing::error!(error = %e, statement, ?code, jobs = size, "SQLite transaction failed; rolling back the group");
        crate::metrics::storage_error();
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        e.to_string()
    });
    if outcome.is_ok() {
        crate::metrics::committed(size, started.elapsed());
    }
    for finish in finishes {
        finish(outcome.clone().map_err(StoreError::other));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)").unwrap();
        (dir, Writer::start(conn))
    }

    fn count(w: &Writer) -> impl std::future::Future<Output = StoreResult<i64>> + '_ {
        w.write(|c| Ok(c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_job_rolls_back_alone() {
        let (_dir, w) = writer();
        let w = std::sync::Arc::new(w);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                w.write(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [i])?;
                    if i % 4 == 0 {
                        // Fails after writing: its insert must not survive.
                        return Err(StoreError::Conflict(crate::Conflict::TokenValue));
                    }
                    if i % 4 == 1 {
                        panic!("a bug in job {i}");
                    }
                    Ok(())
                })
                .await
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap().is_ok());
        }
        assert_eq!(ok, 20);
        assert_eq!(
            count(&w).await.unwrap(),
            20,
            "only the successful jobs' rows were committed"
        );
    }

    /// Runs `outcomes.len()` jobs in one group (they queue while the writer is held by a first
    /// job); job `i` inserts `i` and then fails where `outcomes[i]` is false. Returns what each
    /// caller was answered and the values committed.
    async fn one_group(outcomes: &'static [bool]) -> (Vec<bool>, Vec<i64>) {
        let (_dir, w) = writer();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = w.write(move |_| {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        });
        let (held, answers) = tokio::join!(holder, async {
            // The holder runs on the writer thread, so the jobs below queue behind it.
            tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
                .await
                .unwrap();
            let jobs = outcomes.iter().enumerate().map(|(i, &ok)| {
                w.write(move |c| {
                    c.execute("INSERT INTO t (v) VALUES (?1)", [i as i64])?;
                    match ok {
                        true => Ok(()),
                        false => Err(StoreError::Conflict(crate::Conflict::TokenValue)),
                    }
                })
            });
            let jobs: Vec<_> = jobs.collect();
            let answers = futures::future::join_all(jobs);
            // join_all polls every job (so each is queued) before the holder is released.
            let release = async {
                release_tx.send(()).unwrap();
            };
            tokio::join!(answers, release).0
        });
        held.unwrap();
        let answered = answers.iter().map(Result::is_ok).collect();
        let kept = w
            .write(|c| {
                let mut s = c.prepare("SELECT v FROM t ORDER BY v")?;
                let v = s.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
                Ok(v)
            })
            .await
            .unwrap();
        (answered, kept)
    }

    #[tokio::test]
    async fn jobs_fail_alone_wherever_they_stand_in_a_group() {
        // A first job runs without a savepoint: its failure rolls the transaction back and
        // begins another for the rest.
        assert_eq!(
            one_group(&[false, true, true]).await,
            (vec![false, true, true], vec![1, 2])
        );
        assert_eq!(
            one_group(&[false, false, true]).await,
            (vec![false, false, true], vec![2])
        );
        assert_eq!(
            one_group(&[true, false, true]).await,
            (vec![true, false, true], vec![0, 2])
        );
        assert_eq!(
            one_group(&[true, true, false]).await,
            (vec![true, true, false], vec![0, 1])
        );
        assert_eq!(one_group(&[false]).await, (vec![false], vec![]));
        assert_eq!(one_group(&[true]).await, (vec![true], vec![0]));
    }

    #[tokio::test]
    async fn a_failed_commit_fails_the_jobs_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        // A deferred foreign key is checked at COMMIT, so the commit itself fails.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        let w = Writer::start(conn);
        let r = w
            .write(|c| Ok(c.execute("INSERT INTO child (p) VALUES (42)", [])?))
            .await;
        let Err(StoreError::Other(e)) = &r else { panic!("{r:?}") };
        assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
        let rows: i64 = w
            .write(|c| Ok(c.query_row("SELECT COUNT(*) FROM child", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(rows, 0, "the writer rolled back and goes on");
    }
}
