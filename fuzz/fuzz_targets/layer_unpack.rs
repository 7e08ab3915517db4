//! Unpacking an image layer (a tar stream: paths, links, whiteouts,
//! xattrs): whatever the archive says, nothing may land outside the layer's
//! directory, and a refusal is an error, not a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("layer");
    std::fs::create_dir(&root).expect("the layer directory");
    let _ = engine::image::unpack::unpack_layer(data, &root);
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the temporary directory")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n != "layer")
        .collect();
    assert!(
        outside.is_empty(),
        "the layer wrote outside its root: {outside:?}"
    );
});
