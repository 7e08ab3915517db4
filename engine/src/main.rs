//! `berth`: the container engine's command line.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let code = engine::cli::run_process(args);
    std::process::exit(code);
}
