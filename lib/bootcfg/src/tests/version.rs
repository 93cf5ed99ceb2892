//! Tests of version comparison (UAPI Version Format Specification).

use core::cmp::Ordering::{self, Equal, Greater, Less};

use crate::compare_versions;

fn check(a: &str, b: &str, expected: Ordering) {
    assert_eq!(compare_versions(a, b), expected, "{a:?} vs {b:?}");
    assert_eq!(compare_versions(b, a), expected.reverse(), "{b:?} vs {a:?}");
}

#[test]
fn numeric_runs_compare_as_numbers() {
    check("6.1.10", "6.1.9", Greater);
    check("6.1.9", "6.1.10", Less);
    check("10", "9", Greater);
    check("00123", "123", Equal);
    check("1.02", "1.2", Equal);
    check("123456789012345678901234567890", "123456789012345678901234567889", Greater);
    check("6.1.0-loongson-10", "6.1.0-loongson-3", Greater);
}

#[test]
fn examples_from_the_specification() {
    check("11", "11", Equal);
    check("systemd-123", "systemd-123", Equal);
    check("bar-123", "foo-123", Less);
    check("123a", "123", Greater);
    check("123.a", "123", Greater);
    check("123.a", "123.b", Less);
    check("123a", "123.a", Greater);
    check("11α", "11β", Equal);
    check("B", "a", Less);
    check("", "0", Less);
    check("0.", "0", Greater);
    check("0.0", "0", Greater);
    check("0", "~", Greater);
    check("", "~", Greater);
    check("1_", "1", Equal);
    check("_1", "1", Equal);
    check("1_", "1.2", Less);
    check("1_2_3", "1.3.3", Greater);
    check("1+", "1", Equal);
    check("+1", "1", Equal);
    check("1+", "1.2", Less);
    check("1+2+3", "1.3.3", Greater);
}

#[test]
fn markers_order_a_release_chain() {
    // Each compares lower than every one to its right.
    let chain = [
        "122.1",
        "123~rc1-1",
        "123",
        "123-a",
        "123-a.1",
        "123-1",
        "123-1.1",
        "123^post1",
        "123.a-1",
        "123.1-1",
        "123a-1",
        "124-1",
    ];
    for (i, a) in chain.iter().enumerate() {
        for (j, b) in chain.iter().enumerate() {
            check(a, b, i.cmp(&j));
        }
    }
}

#[test]
fn digits_rank_above_letters_at_the_same_place() {
    check("1.0", "1.a", Greater);
    check("0", "a", Greater);
    check("1.0~rc1", "1.0", Less);
    check("1.0~rc1", "1.0~rc2", Less);
    // After a shared `~`, the end of the string is checked before another `~`.
    check("1.0~rc1", "1.0~", Greater);
    check("1.0~~", "1.0~", Greater);
}
