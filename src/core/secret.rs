//! A secret value whose `Debug` and `Display` never show it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A generated secret (database password, token, ...). The value is only
/// reachable through [`Secret::expose`], so formatting it by accident
/// (logs, screens, panics) prints `<redacted>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself: call only where it leaves for its one destination
    /// (the secrets file, a NoEcho parameter).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-XYZ");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!format!("{:?}", vec![("db", s.clone())]).contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-XYZ");
    }
}
