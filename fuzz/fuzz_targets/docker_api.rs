//! Docker's network API and netd's sandbox API, whole: the input is
//! `METHOD PATH?QUERY` on its first line and the request body after it.
//! Requests build up state (networks, sandboxes, endpoints) across runs, as
//! a long-lived daemon's would. Any answer is fine; a panic, a hang or a
//! 5xx that is not a plain failure of the (fake) kernel is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

thread_local! {
    static NETD: netd::fuzzing::Harness = netd::fuzzing::Harness::new();
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let Some((method, uri)) = head.split_once(' ') else {
        return;
    };
    NETD.with(|n| n.request(false, method, uri, body));
});
