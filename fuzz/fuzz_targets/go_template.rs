//! The Go-template engine behind `--format`: any template text either
//! compiles or is refused, and a compiled one renders against a container-
//! like value without panicking.
#![no_main]

use engine::format::json::JsonStyle;
use engine::format::template::{FuncSet, LabelMethod, Options, compile, from_json, render};
use gotmpl::MissingKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let options = Options {
        funcs: FuncSet::Basic,
        json: JsonStyle::Inspect,
        missing_key: MissingKey::Invalid,
        label: LabelMethod::Absent,
    };
    if let Ok(t) = compile(src, &options) {
        let value = from_json(&serde_json::json!({
            "Id": "0123456789ab", "Name": "/web", "State": {"Running": true, "Pid": 42},
            "Config": {"Env": ["A=1", "B=2"], "Labels": {"x": "y"}},
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
            "Ports": [1, 2.5, null, "s"]
        }));
        let _ = render(&t, &value);
    }
});
