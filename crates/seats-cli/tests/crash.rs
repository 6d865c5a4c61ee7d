//! `seats serve` killed with SIGKILL at random moments while clients write: no acknowledged
//! write is lost, nothing is half-applied, and the file passes SQLite's integrity check.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const WRITERS: usize = 4;
const SEATS_PER_WRITER: usize = 5;
const KILLS: usize = 100;
/// The loop stops early past this, on a slow machine; it must still have killed often.
const TIME_BOUND: Duration = Duration::from_secs(90);

/// What one seat's writer knows: the last value the server acknowledged, and the value of a
/// request still unanswered when the server died (it may or may not have committed).
#[derive(Debug, Clone, Copy)]
struct Known {
    acked: bool,
    pending: Option<bool>,
}

fn seat(i: usize) -> String {
    format!("crash-{i:02}")
}

/// Every seat's Access flag, read back through the API.
fn read_back(base: &str) -> Vec<bool> {
    block_on(async {
        let body: Value = http()
            .get(format!(
                "{base}/client/v4/accounts/{ACCOUNT}/access/users?per_page=1000"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let users = body["result"].as_array().expect("users");
        (0..WRITERS * SEATS_PER_WRITER)
            .map(|i| {
                users
                    .iter()
                    .find(|u| u["seat_uid"] == json!(seat(i)))
                    .and_then(|u| u["access_seat"].as_bool())
                    .expect("the seat is there")
            })
            .collect()
    })
}

#[test]
fn acknowledged_writes_survive_sigkill_and_the_file_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let db_arg = db.to_str().unwrap().to_owned();
    let mut seed: Value = serde_json::from_str(seats_store_demo_seed()).unwrap();
    let users = seed["accounts"][0]["users"].as_array_mut().unwrap();
    for i in 0..WRITERS * SEATS_PER_WRITER {
        users.push(json!({"email": format!("crash{i}@example.com"), "seat_uid": seat(i), "gateway_seat": true}));
    }
    seed["accounts"][0]["seat_limit"] = json!(1000);
    let seed_path = dir.path().join("seed.json");
    std::fs::write(&seed_path, seed.to_string()).unwrap();
    let first = start(
        &[
            "--database",
            &db_arg,
            "--seed",
            seed_path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    first.kill();

    let known = Arc::new(Mutex::new(vec![
        Known {
            acked: false,
            pending: None
        };
        WRITERS * SEATS_PER_WRITER
    ]));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let started = Instant::now();
    let (mut kills, mut acked_writes) = (0, 0);
    while kills < KILLS && started.elapsed() < TIME_BOUND {
        let server = start(&["--database", &db_arg, "--listen", "127.0.0.1:0"], &[]);
        // What survived the last kill: each seat holds its acknowledged value or the one
        // that was in flight.
        let now = read_back(&server.base);
        {
            let mut known = known.lock().unwrap();
            for (i, (k, actual)) in known.iter_mut().zip(&now).enumerate() {
                assert!(
                    *actual == k.acked || Some(*actual) == k.pending,
                    "seat {i} after kill {kills}: {actual}, acknowledged {k:?}"
                );
                *k = Known {
                    acked: *actual,
                    pending: None,
                };
            }
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (base, known, stop) = (server.base.clone(), known.clone(), stop.clone());
                std::thread::spawn(move || write_until_stopped(w, &base, &known, &stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(5..80)));
        server.kill();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for w in writers {
            acked_writes += w.join().unwrap();
        }
        kills += 1;
    }
    eprintln!(
        "{kills} kills, {acked_writes} acknowledged writes in {:?}",
        started.elapsed()
    );
    assert!(kills >= 20, "only {kills} kills in {TIME_BOUND:?}");
    assert!(
        acked_writes >= kills,
        "{acked_writes} acknowledged writes over {kills} kills"
    );

    // The last state is checked by one more start, then the file itself.
    let server = start(&["--database", &db_arg, "--listen", "127.0.0.1:0"], &[]);
    let now = read_back(&server.base);
    for (i, (k, actual)) in known.lock().unwrap().iter().zip(&now).enumerate() {
        assert!(
            *actual == k.acked || Some(*actual) == k.pending,
            "seat {i}: {actual}, {k:?}"
        );
    }
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let fk: Option<String> = conn
        .query_row("SELECT \"table\" FROM pragma_foreign_key_check LIMIT 1", [], |r| {
            r.get(0)
        })
        .ok();
    assert_eq!(fk, None, "no broken reference");
}

/// Flips the Access seats of writer `w`'s seats one PATCH at a time until the server dies;
/// returns how many writes were acknowledged.
fn write_until_stopped(w: usize, base: &str, known: &Mutex<Vec<Known>>, stop: &std::sync::atomic::AtomicBool) -> usize {
    // One runtime for the writer's whole life: its client keeps connections on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _inside = runtime.enter();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut acked = 0;
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let i = w * SEATS_PER_WRITER + n % SEATS_PER_WRITER;
        n += 1;
        let value = {
            let mut known = known.lock().unwrap();
            let value = !known[i].acked;
            known[i].pending = Some(value);
            value
        };
        let sent = runtime.block_on(
            client
                .patch(format!("{base}/client/v4/accounts/{ACCOUNT}/access/seats"))
                .bearer_auth(TOKEN)
                .body(json!([{"seat_uid": seat(i), "access_seat": value, "gateway_seat": true}]).to_string())
                .send(),
        );
        match sent {
            Ok(resp) if resp.status() == 200 => {
                let mut known = known.lock().unwrap();
                known[i] = Known {
                    acked: value,
                    pending: None,
                };
                acked += 1;
            }
            // The server died (or refused): the value stays pending, then the next kill decides.
            _ => return acked,
        }
    }
    acked
}

fn seats_store_demo_seed() -> &'static str {
    include_str!("../../seats-store/src/demo_seed.json")
}
