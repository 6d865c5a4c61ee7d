//! Secrets (API tokens, global keys): held in a type that never prints them, stored only as
//! SHA-256 hashes, compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret as received from a client or a seed file. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain value; call only to send it or hash it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The SHA-256 hash of a secret, the only form in which secrets are stored.
#[derive(Clone, Copy, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(SecretHash)
    }
}

/// Constant-time, so comparing a guessed key with a stored one leaks nothing through timing.
impl PartialEq for SecretHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash prefix is enough to tell records apart in logs and says nothing of the secret.
        write!(f, "SecretHash({}…)", hex::encode(&self.0[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", s.hash()).contains("Sn3l"));
    }

    #[test]
    fn hash_is_sha256() {
        assert_eq!(
            hex::encode(Secret::new("abc").hash().0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Secret::new("a").hash(), Secret::new("a").hash());
        assert_ne!(Secret::new("a").hash(), Secret::new("b").hash());
    }
}
