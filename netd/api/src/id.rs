//! Object ids as Docker makes them: 64 lowercase hex digits from the
//! kernel's random source. The engine uses the same generator for
//! containers and sandboxes that netd uses for networks and endpoints.

/// A fresh 64-hex id.
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the kernel's random source is available");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether `s` is a full 64-hex id (lowercase, as [`new_id`] makes them).
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_full_and_distinct() {
        let (a, b) = (new_id(), new_id());
        assert!(is_full_id(&a) && is_full_id(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn full_id_needs_64_lowercase_hex_digits() {
        assert!(!is_full_id(&"a".repeat(63)));
        assert!(!is_full_id(&"A".repeat(64)));
        assert!(!is_full_id(&"g".repeat(64)));
        assert!(is_full_id(&"0f".repeat(32)));
    }
}
