//! `seats healthcheck`: asks a running server's `/readyz` and exits 0 when it answers 200,
//! 1 otherwise. For a container's `HEALTHCHECK`, which then needs no shell and no curl: plain
//! HTTP/1.1 over a socket, bounded in time.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The address the server listens on (as `seats serve --listen`); an unspecified address
    /// (0.0.0.0, ::) is asked on loopback.
    #[arg(long, env = "SEATS_LISTEN", default_value = "127.0.0.1:8788")]
    listen: SocketAddr,
    /// Longest the check may take.
    #[arg(long, default_value = "2s", value_parser = parse_timeout)]
    timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    seats_types::parse_go_duration(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?}: write a duration such as 2s or 500ms"))
}

pub fn run(args: HealthcheckArgs) -> ExitCode {
    match check(args.listen, args.timeout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("unhealthy: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Where to ask: the listen address, with an unspecified IP replaced by loopback.
fn target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

fn check(listen: SocketAddr, timeout: Duration) -> Result<(), String> {
    let addr = target(listen);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{addr}: {e}"))?;
    // The status line is all that is needed; a few KiB at most are read.
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{addr}: {e}")),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let status = head.lines().next().unwrap_or_default();
    if status.starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("{addr}/readyz answered {status:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        assert_eq!(
            target("0.0.0.0:8788".parse().unwrap()),
            "127.0.0.1:8788".parse().unwrap()
        );
        assert_eq!(target("[::]:9000".parse().unwrap()), "[::1]:9000".parse().unwrap());
        assert_eq!(target("127.0.0.2:1".parse().unwrap()), "127.0.0.2:1".parse().unwrap());
    }
}
