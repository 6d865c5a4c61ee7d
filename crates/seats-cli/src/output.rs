//! Printing results: aligned tables for people, JSON for scripts.

use seats_client::Seat;
use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Renders rows under a header with columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Prints users as a table.
pub fn users_table(users: &[seats_client::User]) {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let flag = |v: Option<bool>| v.map_or_else(|| "-".to_owned(), |b| b.to_string());
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                text(&u.id),
                text(&u.email),
                text(&u.name),
                text(&u.seat_uid),
                flag(u.access_seat),
                flag(u.gateway_seat),
                u.active_device_count.map(|n| n.to_string()).unwrap_or_default(),
                u.last_successful_login
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "ID",
                "EMAIL",
                "NAME",
                "SEAT_UID",
                "ACCESS",
                "GATEWAY",
                "DEVICES",
                "LAST_LOGIN"
            ],
            &rows
        )
    );
}

/// Prints seats as a table; a count line follows on a terminal.
pub fn seats_table(seats: &[Seat], terminal: bool) {
    let opt = |v: Option<bool>| v.map_or_else(|| "-".to_owned(), |b| b.to_string());
    let rows: Vec<Vec<String>> = seats
        .iter()
        .map(|s| {
            vec![
                s.seat_uid.clone().unwrap_or_default(),
                opt(s.access_seat),
                opt(s.gateway_seat),
                s.updated_at.map(|t| t.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    print!("{}", table(&["SEAT_UID", "ACCESS", "GATEWAY", "UPDATED_AT"], &rows));
    if terminal {
        println!("{} seat(s) updated", seats.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let t = table(
            &["A", "LONGER"],
            &[vec!["wide cell".into(), "x".into()], vec!["y".into(), "z".into()]],
        );
        assert_eq!(t, "A          LONGER\nwide cell  x\ny          z\n");
    }
}
