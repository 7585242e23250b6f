//! Small pure helpers on text that several parts need.

/// The 1-based line and column of byte `offset` in `text` (clamped to its
/// end), as editors count them: the column in characters.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A DNS name lower case with a trailing dot, as Route 53 writes names.
pub fn fqdn(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') { n } else { format!("{n}.") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "a = 1\nnamé = = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, text.find("= =").unwrap() + 2), (2, 8));
        assert_eq!(line_column(text, 10_000), (3, 1));
    }

    #[test]
    fn names_are_fully_qualified_once_and_lower_case() {
        assert_eq!(fqdn(" Shop.Example.COM "), "shop.example.com.");
        assert_eq!(fqdn("example.com."), "example.com.");
    }
}
