//! The `-p`/`--publish` and `--expose` parser, and the API's
//! `PortBindings` JSON, with arbitrary text: refusals are fine, panics are
//! not, and what parses must render to a form that parses to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netd_api::portspec::{from_port_bindings, parse_port_specs, to_port_bindings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let specs: Vec<&str> = text.split('\n').collect();
    if let Ok((_, mappings)) = parse_port_specs(&specs) {
        let bindings = to_port_bindings(&mappings);
        let again = from_port_bindings(&bindings).expect("rendered bindings parse again");
        assert_eq!(
            to_port_bindings(&again),
            bindings,
            "round trip of {specs:?}"
        );
    }
    if let Ok(bindings) = serde_json::from_str(text) {
        let _ = from_port_bindings(&bindings);
    }
});
