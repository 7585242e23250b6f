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

/// A new secret to `spec`'s rules: its length, drawn from its alphabet,
/// with at least one character of each required class. Every character is
/// drawn uniformly from a cryptographically secure generator; a draw that
/// misses a required class is thrown away whole (rather than patched),
/// so the result stays uniform over the values the rules allow.
pub fn generate<R: rand::CryptoRng + ?Sized>(
    spec: &crate::core::blueprint::manifest::SecretSpec,
    rng: &mut R,
) -> Secret {
    use crate::core::blueprint::manifest::CharClass;
    use rand::RngExt;
    let alphabet: Vec<char> = spec.alphabet.chars().collect();
    assert!(!alphabet.is_empty(), "a secret's alphabet is empty");
    let class_of = |c: char, class: CharClass| match class {
        CharClass::Upper => c.is_ascii_uppercase(),
        CharClass::Lower => c.is_ascii_lowercase(),
        CharClass::Digit => c.is_ascii_digit(),
        CharClass::Special => !c.is_ascii_alphanumeric(),
    };
    loop {
        let value: String = (0..spec.length)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        if spec
            .require
            .iter()
            .all(|class| value.chars().any(|c| class_of(c, *class)))
        {
            return Secret(value);
        }
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

    fn spec(text: &str) -> crate::core::blueprint::manifest::SecretSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn generated_secrets_keep_every_rule_of_the_manifest() {
        let bp = crate::core::blueprint::Blueprint::embedded().unwrap();
        let mut rng = rand::rng();
        for (name, spec) in &bp.manifest.secrets {
            for _ in 0..200 {
                let s = generate(spec, &mut rng);
                let v = s.expose();
                assert_eq!(v.chars().count(), spec.length, "{name}");
                assert!(v.chars().all(|c| spec.alphabet.contains(c)), "{name}");
                for class in &spec.require {
                    use crate::core::blueprint::manifest::CharClass::*;
                    let has = match class {
                        Upper => v.chars().any(|c| c.is_ascii_uppercase()),
                        Lower => v.chars().any(|c| c.is_ascii_lowercase()),
                        Digit => v.chars().any(|c| c.is_ascii_digit()),
                        Special => v.chars().any(|c| !c.is_ascii_alphanumeric()),
                    };
                    assert!(has, "{name} lacks {class:?}");
                }
            }
        }
    }

    #[test]
    fn two_generated_secrets_differ() {
        let s = spec("length = 32\nalphabet = \"abcdefghijklmnopqrstuvwxyz\"\n");
        let mut rng = rand::rng();
        assert_ne!(generate(&s, &mut rng), generate(&s, &mut rng));
    }

    #[test]
    fn a_required_class_is_always_present_even_when_rare_in_the_alphabet() {
        // One special character among 63: most draws of 8 lack it.
        let s = spec(
            "length = 8\nalphabet = \"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-\"\n\
             require = [\"special\"]\n",
        );
        let mut rng = rand::rng();
        for _ in 0..100 {
            assert!(generate(&s, &mut rng).expose().contains('-'));
        }
    }
}
