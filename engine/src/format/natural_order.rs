//! Natural order of names, as docker sorts listings
//! (`sortorder.NaturalLess`).

use std::cmp::Ordering;

/// Natural order, as docker sorts names (`sortorder.NaturalLess`): runs of
/// digits compare as numbers (with fewer leading zeros first on a tie),
/// digits sort before other characters, the rest bytewise.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let (za, zb) = (skip_zeros(a, i), skip_zeros(b, j));
        let (ea, eb) = (end_of_digits(a, za), end_of_digits(b, zb));
        let ord = (ea - za)
            .cmp(&(eb - zb))
            .then_with(|| a[za..ea].cmp(&b[zb..eb]))
            .then_with(|| (za - i).cmp(&(zb - j)));
        if ord != Ordering::Equal {
            return ord;
        }
        (i, j) = (ea, eb);
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn skip_zeros(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i] == b'0' {
        i += 1;
    }
    i
}

fn end_of_digits(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_naturally() {
        let mut names = vec![
            "net10", "net9", "bridge", "net09", "host", "Net1", "a1b", "a01b",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "Net1", "a1b", "a01b", "bridge", "host", "net9", "net09", "net10"
            ]
        );
    }
}
