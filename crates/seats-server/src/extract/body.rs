//! Reading JSON object bodies field by field, collecting every problem (12006) with its pointer.

use serde_json::{Map, Value};

use crate::error::{ApiError, Problem};

/// A JSON object body being checked.
pub struct ObjectBody {
    obj: Map<String, Value>,
    problems: Vec<Problem>,
}

impl ObjectBody {
    /// The body must be an object.
    pub fn new(body: Value) -> Result<Self, ApiError> {
        match body {
            Value::Object(obj) => Ok(ObjectBody {
                obj,
                problems: Vec::new(),
            }),
            _ => Err(ApiError::Invalid(vec![Problem::new(
                "",
                "the body must be a JSON object",
            )])),
        }
    }

    pub fn problem(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(pointer, message));
    }

    /// The raw value of a field.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.obj.get(name)
    }

    /// A string field; `None` if absent (a problem if `required`) or of another type.
    pub fn string(&mut self, name: &str, required: bool) -> Option<String> {
        match self.obj.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.problem(format!("/{name}"), format!("{name} is required"));
                None
            }
            Some(_) => {
                self.problem(format!("/{name}"), format!("{name} must be a string"));
                None
            }
        }
    }

    /// Free text (a name, a device id) under the one rule of
    /// [`seats_types::formats::text_problem`]: at most `max` characters, no control characters.
    pub fn text(&mut self, name: &str, required: bool, max: usize) -> Option<String> {
        let s = self.string(name, required)?;
        match seats_types::formats::text_problem(name, &s, max) {
            None => Some(s),
            Some(problem) => {
                self.problem(format!("/{name}"), problem);
                None
            }
        }
    }

    /// A boolean field, optional.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.problem(format!("/{name}"), format!("{name} must be true or false"));
                None
            }
        }
    }

    /// An integer field between 0 and the largest int64 (what the stores keep), optional.
    pub fn unsigned(&mut self, name: &str) -> Option<u64> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().filter(|n| i64::try_from(*n).is_ok()) {
                Some(n) => Some(n),
                None => {
                    self.problem(
                        format!("/{name}"),
                        format!("{name} must be an integer between 0 and {}", i64::MAX),
                    );
                    None
                }
            },
        }
    }

    /// A timestamp field (RFC 3339), optional.
    pub fn timestamp(&mut self, name: &str) -> Option<seats_types::Timestamp> {
        let s = self.string(name, false)?;
        match s.parse() {
            Ok(t) => Some(t),
            Err(_) => {
                self.problem(format!("/{name}"), format!("{name} must be an RFC 3339 timestamp"));
                None
            }
        }
    }

    /// An email field, checked for shape.
    pub fn email(&mut self, name: &str, required: bool) -> Option<String> {
        let email = self.string(name, required)?;
        if seats_types::formats::is_email(&email) {
            Some(email)
        } else {
            self.problem(format!("/{name}"), format!("{name} must be a valid email address"));
            None
        }
    }

    /// The fields, for handlers that keep them as given.
    pub fn into_map(self) -> Map<String, Value> {
        self.obj
    }

    /// Fails with every problem found, or gives the fields back.
    pub fn finish(self) -> Result<Map<String, Value>, ApiError> {
        if self.problems.is_empty() {
            Ok(self.obj)
        } else {
            Err(ApiError::Invalid(self.problems))
        }
    }
}
