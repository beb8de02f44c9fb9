//! Text a provider or a browser sent: compared in constant time, quoted only when printable.

use aws_lc_rs::constant_time;

/// Compares two strings in constant time (with respect to their contents), for values such as
/// `state`, `nonce` and `sub` that an attacker may probe.
pub(crate) fn same(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Provider- or browser-supplied text fit for an error message: no control characters, at
/// most `max` characters.
pub(crate) fn printable(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let squashed = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = squashed.chars().take(max).collect();
    if squashed.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }

    #[test]
    fn printable_drops_control_characters_and_bounds_the_length() {
        assert_eq!(printable("a\u{7}b\n\nc", 10), "a b c");
        assert_eq!(printable("abcdef", 3), "abc…");
    }
}
