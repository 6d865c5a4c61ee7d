//! A TCP proxy a test puts between a server and its database, to lose the database and get it
//! back: [`Proxy::reset`] closes every connection and refuses new ones, [`Proxy::stall`]
//! keeps connections open but moves no byte (a network that went silent), and
//! [`Proxy::restore`] lets traffic through again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

const PASS: u8 = 0;
const RESET: u8 = 1;
const STALL: u8 = 2;

struct State {
    mode: AtomicU8,
    restored: Notify,
    pumps: Mutex<Vec<AbortHandle>>,
}

impl State {
    /// Waits while the proxy stalls; false when it resets.
    async fn may_pass(&self) -> bool {
        loop {
            let restored = self.restored.notified();
            match self.mode.load(Ordering::SeqCst) {
                PASS => return true,
                RESET => return false,
                _ => restored.await,
            }
        }
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept: AbortHandle,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for pump in self.state.pumps.lock().unwrap().drain(..) {
            pump.abort();
        }
    }
}

impl Proxy {
    /// Forwards a local port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            mode: AtomicU8::new(PASS),
            restored: Notify::new(),
            pumps: Mutex::new(Vec::new()),
        });
        let accepting = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let state = accepting.clone();
                let pump = tokio::spawn(async move {
                    if !state.may_pass().await {
                        return; // refused: the socket closes
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        _ = pipe(client_read, server_write, &state) => {}
                        _ = pipe(server_read, client_write, &state) => {}
                    }
                });
                accepting.pumps.lock().unwrap().push(pump.abort_handle());
            }
        })
        .abort_handle();
        Proxy { addr, state, accept }
    }

    /// Closes every connection and refuses new ones.
    pub fn reset(&self) {
        self.state.mode.store(RESET, Ordering::SeqCst);
        for pump in self.state.pumps.lock().unwrap().drain(..) {
            pump.abort();
        }
    }

    /// Keeps connections open, moving nothing.
    pub fn stall(&self) {
        self.state.mode.store(STALL, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.state.mode.store(PASS, Ordering::SeqCst);
        self.state.restored.notify_waiters();
    }
}

async fn pipe(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, state: &State) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !state.may_pass().await || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
