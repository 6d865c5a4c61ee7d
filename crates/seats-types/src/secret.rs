//! A secret on the wire: an API key, a token's value, a SCIM secret.

use serde::{Deserialize, Serialize};

/// Serialized as the plain string (it is shown once, in the response that made it), never
/// shown by `Debug`, so no log line, panic or test failure prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_serializes_as_the_string_and_debugs_as_stars() {
        let s = SecretString::new("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY\""
        );
        assert_eq!(format!("{s:?}"), "\"***\"");
        let back: SecretString = serde_json::from_str("\"k\"").unwrap();
        assert_eq!(back.expose(), "k");
    }
}
