//! Fault rules: answer chosen requests with an error, a delay, a reset connection or no
//! answer at all, for the next N of them or with a seeded probability.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use seats_types::{FaultAction, FaultMatch, FaultRule, NewFaultRule};

/// What a request looks like to the rules.
pub struct Seen<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub operation_id: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub credential_id: Option<&'a str>,
}

struct Rule {
    view: FaultRule,
    rng: Option<StdRng>,
}

/// The rules, in the order they were added; the first that fires wins.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<(u64, Vec<Rule>)>,
}

/// `pattern` with `*` standing for any run of characters matches all of `text`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn matches(m: &FaultMatch, seen: &Seen<'_>) -> bool {
    m.method.as_ref().is_none_or(|x| x.eq_ignore_ascii_case(seen.method))
        && m.operation_id.as_deref().is_none_or(|x| Some(x) == seen.operation_id)
        && m.path.as_ref().is_none_or(|p| glob(p, seen.path))
        && m.account_id.as_deref().is_none_or(|x| Some(x) == seen.account_id)
        && m.credential_id.as_deref().is_none_or(|x| Some(x) == seen.credential_id)
}

/// Problems with a new rule, as `(pointer, message)`.
pub fn check(rule: &NewFaultRule) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let a = &rule.action;
    if let Some(status) = a.status {
        if !(400..=599).contains(&status) {
            problems.push((
                "/action/status".into(),
                format!("status must be between 400 and 599, got {status}"),
            ));
        }
    }
    let answers = [a.status.is_some(), a.reset, a.hang].iter().filter(|x| **x).count();
    if answers > 1 {
        problems.push(("/action".into(), "choose one of status, reset and hang".into()));
    }
    if answers == 0 && a.delay_ms.is_none() {
        problems.push((
            "/action".into(),
            "an action needs status, delay_ms, reset or hang".into(),
        ));
    }
    if a.delay_ms.is_some_and(|d| d > 600_000) {
        problems.push((
            "/action/delay_ms".into(),
            "delay_ms is at most 600000 (10 minutes)".into(),
        ));
    }
    if let Some(p) = rule.probability {
        if !(0.0..=1.0).contains(&p) || p.is_nan() {
            problems.push((
                "/probability".into(),
                format!("probability must be between 0 and 1, got {p}"),
            ));
        }
    }
    if rule.times == Some(0) {
        problems.push(("/times".into(), "times must be at least 1".into()));
    }
    if rule.seed.is_some() && rule.probability.is_none() {
        problems.push(("/seed".into(), "seed goes with probability".into()));
    }
    problems
}

impl Faults {
    /// Adds a checked rule; returns it as held.
    pub fn add(&self, rule: NewFaultRule) -> FaultRule {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.0 += 1;
        let view = FaultRule {
            id: format!("fault-{}", rules.0),
            matches: rule.matches,
            action: rule.action,
            remaining: rule.times,
            probability: rule.probability,
            seed: rule.probability.map(|_| rule.seed.unwrap_or(0)),
            fired: 0,
        };
        let rng = view.seed.map(StdRng::seed_from_u64);
        rules.1.push(Rule {
            view: view.clone(),
            rng,
        });
        view
    }

    pub fn list(&self) -> Vec<FaultRule> {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.1.iter().map(|r| r.view.clone()).collect()
    }

    /// Removes one rule (`Some(id)`) or all; returns how many went.
    pub fn remove(&self, id: Option<&str>) -> usize {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let before = rules.1.len();
        rules.1.retain(|r| id.is_some_and(|id| r.view.id != id));
        before - rules.1.len()
    }

    /// Whether some rule needs the request's credential to decide.
    pub fn wants_credential(&self) -> bool {
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.1.iter().any(|r| r.view.matches.credential_id.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).1.is_empty()
    }

    /// The first rule that fires on `seen`: `(rule id, action)`. Firing spends one of its
    /// `times` and, with a probability, one draw of its generator (also when it does not fire,
    /// so a seeded run replays draw for draw).
    pub fn fire(&self, seen: &Seen<'_>) -> Option<(String, FaultAction)> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        for rule in rules.1.iter_mut() {
            if rule.view.remaining == Some(0) || !matches(&rule.view.matches, seen) {
                continue;
            }
            if let (Some(p), Some(rng)) = (rule.view.probability, rule.rng.as_mut()) {
                if rng.random::<f64>() >= p {
                    continue;
                }
            }
            if let Some(left) = rule.view.remaining.as_mut() {
                *left -= 1;
            }
            rule.view.fired += 1;
            return Some((rule.view.id.clone(), rule.view.action.clone()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(path: &str) -> Seen<'_> {
        Seen {
            method: "PATCH",
            path,
            operation_id: Some("zero-trust-seats-update-a-user-seat"),
            account_id: Some("a"),
            credential_id: Some("demo"),
        }
    }

    #[test]
    fn globs_match_whole_paths() {
        assert!(glob(
            "/client/v4/accounts/*/access/seats",
            "/client/v4/accounts/abc/access/seats"
        ));
        assert!(glob("*", "/anything"));
        assert!(glob("/a*b*c", "/aXXbYYc"));
        assert!(!glob("/a*b*c", "/aXXcYYb"));
        assert!(!glob("/client/*/seats", "/client/v4/seats/extra"));
        assert!(!glob("/ab*ba", "/aba"), "the ends may not overlap");
    }

    #[test]
    fn times_run_out_and_seeded_probability_replays() {
        let faults = Faults::default();
        let rule = NewFaultRule {
            matches: FaultMatch {
                method: Some("patch".into()),
                ..Default::default()
            },
            action: FaultAction {
                status: Some(429),
                ..Default::default()
            },
            times: Some(2),
            ..Default::default()
        };
        assert!(check(&rule).is_empty());
        faults.add(rule);
        let fired: Vec<bool> = (0..3).map(|_| faults.fire(&seen("/x")).is_some()).collect();
        assert_eq!(fired, [true, true, false]);
        assert_eq!(faults.list()[0].fired, 2);

        let run = |seed| {
            let faults = Faults::default();
            faults.add(NewFaultRule {
                action: FaultAction {
                    status: Some(503),
                    ..Default::default()
                },
                probability: Some(0.5),
                seed: Some(seed),
                ..Default::default()
            });
            (0..64).map(|_| faults.fire(&seen("/x")).is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7), "the same seed, the same firings");
        assert_ne!(run(7), run(8));
        let fired = run(7).iter().filter(|f| **f).count();
        assert!((16..=48).contains(&fired), "about half of 64: {fired}");
    }

    #[test]
    fn bad_rules_say_why() {
        let rule = NewFaultRule {
            action: FaultAction {
                status: Some(200),
                reset: true,
                delay_ms: Some(700_000),
                ..Default::default()
            },
            probability: Some(1.5),
            times: Some(0),
            ..Default::default()
        };
        let pointers: Vec<String> = check(&rule).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            pointers,
            [
                "/action/status",
                "/action",
                "/action/delay_ms",
                "/probability",
                "/times"
            ]
        );
    }
}
