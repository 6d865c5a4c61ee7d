//! Seat usage over time, read back from the audit log, as a small step chart in SVG.
//!
//! Every audit event that changes whether a user holds a seat records the seats before and
//! after (`access_seat`, `gateway_seat`): PATCH edits, logins that grant one, the expiry
//! sweep, removals, SCIM deprovisioning. Walking the newest events back from the seats in use
//! now gives the figure after each of them; older history (and the seed) is not drawn.

use std::fmt::Write;

use seats_store::AuditRecord;
use seats_types::Timestamp;
use serde_json::Value;

/// Seats in use over time: `(when, seats in use from then on)`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub points: Vec<(Timestamp, u64)>,
}

fn holds(v: Option<&Value>) -> bool {
    v.is_some_and(|v| {
        ["access_seat", "gateway_seat"]
            .iter()
            .any(|k| v.get(k) == Some(&Value::Bool(true)))
    })
}

impl Series {
    /// From the seats in use `now` and audit events, newest first.
    pub fn from_audit(current: u64, events: &[AuditRecord], now: Timestamp) -> Series {
        let mut level = current;
        let mut back = vec![(now, current)];
        for e in events {
            let (before, after) = (holds(e.before.as_ref()), holds(e.after.as_ref()));
            if before == after {
                continue;
            }
            back.push((e.at, level));
            level = if after { level.saturating_sub(1) } else { level + 1 };
        }
        if back.len() > 1 {
            // The level before the oldest change, drawn a little earlier so that change shows
            // as a step: a tenth of the span, at least a minute.
            let oldest = back.last().expect("not empty").0;
            let pad = ((now.unix_micros() - oldest.unix_micros()) / 10).max(60_000_000);
            let start = Timestamp::from_unix_micros(oldest.unix_micros() - pad).unwrap_or(oldest);
            back.push((start, level));
        }
        back.reverse();
        Series { points: back }
    }

    /// Whether any change was found to draw.
    pub fn is_flat(&self) -> bool {
        self.points.len() < 2
    }

    /// The step chart, scaled to the limit (or the highest figure, if above it).
    pub fn svg(&self, limit: u64) -> String {
        const W: f64 = 640.0;
        const H: f64 = 180.0;
        const LEFT: f64 = 48.0;
        const RIGHT: f64 = 12.0;
        const TOP: f64 = 12.0;
        const BOTTOM: f64 = 28.0;
        let (start, end) = (self.points[0].0, self.points[self.points.len() - 1].0);
        let span = (end.unix_micros() - start.unix_micros()).max(1) as f64;
        let top = self.points.iter().map(|p| p.1).max().unwrap_or(0).max(limit).max(1) as f64;
        let x = |t: Timestamp| LEFT + (t.unix_micros() - start.unix_micros()) as f64 / span * (W - LEFT - RIGHT);
        let y = |v: u64| TOP + (1.0 - v as f64 / top) * (H - TOP - BOTTOM);
        let mut path = format!("M{:.1},{:.1}", x(start), y(self.points[0].1));
        for (t, v) in &self.points[1..] {
            let _ = write!(path, " H{:.1} V{:.1}", x(*t), y(*v));
        }
        let first = self.points[0].1;
        let last = self.points[self.points.len() - 1].1;
        let day = |t: Timestamp| t.as_datetime().format("%Y-%m-%d %H:%M").to_string();
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">Seats in use over time</title>
<desc id="chart-desc">From {first} to {last} seats in use between {} and {} UTC, against a limit of {limit}.</desc>
<line class="axis" x1="{LEFT}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}"/>
<line class="limit" x1="{LEFT}" y1="{ly:.1}" x2="{r:.1}" y2="{ly:.1}"/>
<text x="{tl:.1}" y="{lty:.1}" text-anchor="end">limit {limit}</text>
<path class="usage" d="{path}"/>
<text x="{tx:.1}" y="{b0:.1}" text-anchor="end">0</text>
<text x="{tx:.1}" y="{tt:.1}" text-anchor="end">{topv}</text>
<text x="{LEFT}" y="{H}" dy="-6">{}</text>
<text x="{r:.1}" y="{H}" dy="-6" text-anchor="end">{}</text>
</svg>"##,
            day(start),
            day(end),
            day(start),
            day(end),
            b = H - BOTTOM,
            r = W - RIGHT,
            ly = y(limit),
            tl = W - RIGHT,
            lty = y(limit) - 4.0,
            tx = LEFT - 6.0,
            b0 = H - BOTTOM + 4.0,
            tt = TOP + 8.0,
            topv = top as u64,
        );
        svg
    }
}

#[cfg(test)]
mod tests {
    use seats_store::Actor;
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn event(at_: &str, before: Option<Value>, after: Option<Value>) -> AuditRecord {
        AuditRecord {
            seq: 0,
            at: at(at_),
            account_id: None,
            actor: Actor::Operator,
            action: "x".into(),
            subject: "s".into(),
            before,
            after,
        }
    }

    fn seats(a: bool, g: bool) -> Option<Value> {
        Some(json!({"access_seat": a, "gateway_seat": g}))
    }

    #[test]
    fn usage_is_read_back_from_the_newest_events() {
        let now = at("2030-01-01T05:00:00Z");
        // Newest first: a removal at 04:00, a Gateway seat added beside Access at 03:00 (no
        // change in seats held), a deletion of a holder at 02:00, a grant at 01:00, and an
        // event that is not about seats.
        let events = [
            event("2030-01-01T04:00:00Z", seats(true, false), seats(false, false)),
            event("2030-01-01T03:00:00Z", seats(true, false), seats(true, true)),
            event("2030-01-01T02:00:00Z", seats(false, true), None),
            event("2030-01-01T01:00:00Z", seats(false, false), seats(true, false)),
            event(
                "2030-01-01T00:30:00Z",
                Some(json!({"sessions": 2})),
                Some(json!({"sessions": 0})),
            ),
        ];
        let series = Series::from_audit(5, &events, now);
        assert_eq!(
            series.points,
            [
                (at("2030-01-01T00:36:00Z"), 6),
                (at("2030-01-01T01:00:00Z"), 7),
                (at("2030-01-01T02:00:00Z"), 6),
                (at("2030-01-01T04:00:00Z"), 5),
                (now, 5),
            ]
        );
        let svg = series.svg(10);
        assert!(svg.contains("From 6 to 5 seats in use"), "{svg}");
        assert!(svg.contains("limit 10"));
    }

    #[test]
    fn no_seat_change_draws_nothing() {
        let now = at("2030-01-01T05:00:00Z");
        assert!(Series::from_audit(3, &[], now).is_flat());
        let other = [event("2030-01-01T04:00:00Z", None, Some(json!({"name": "x"})))];
        assert!(Series::from_audit(3, &other, now).is_flat());
    }
}
