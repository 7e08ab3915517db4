//! The embedded DNS server's request handler: raw packets in (as UDP and
//! as TCP), an answer or silence out, never a panic. The zone holds a few
//! names so that local answers, aliases and reverse lookups are reached.
#![no_main]

use dns::server::answer_for_fuzzing;
use dns::{ListenerState, Zone};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static STATE: ListenerState = {
        let mut zone = Zone::new();
        zone.add("web", "10.1.0.2".parse().expect("an address"));
        zone.add("web", "10.1.0.3".parse().expect("an address"));
        zone.add("db.example", "fd00::5".parse().expect("an address"));
        ListenerState::new(zone, Vec::new(), false)
    };
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| {
        if let Some(reply) = answer_for_fuzzing(s, data, false) {
            assert!(reply.len() >= 12, "a reply has a DNS header");
            assert!(reply.len() <= 65535);
        }
        let _ = answer_for_fuzzing(s, data, true);
    });
});
