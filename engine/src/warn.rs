//! Warnings for failures that nothing can be done about any more: a
//! clean-up that failed after the work itself was done, or after another
//! error that is reported instead. They go to standard error, which for a
//! shim is its log (`RUN_DIR/shim.log`), naming the object (a container's
//! id, a volume's name) and the error with its causes, so that the errno
//! is there. Failures that are expected (a process that exited meanwhile,
//! a file already gone) are not warned about.

use std::error::Error;

/// Warns that `what`, for container `id`, failed with `e`.
pub fn container(id: &str, what: &str, e: &dyn Error) {
    eprintln!("berth: warning: container {id}: {what}: {}", causes(e));
}

/// Warns that `what`, for volume `name`, failed with `e`.
pub fn volume(name: &str, what: &str, e: &dyn Error) {
    eprintln!("berth: warning: volume {name}: {what}: {}", causes(e));
}

/// `e`'s message, followed by those of its causes that it does not say
/// already.
pub fn causes(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::ContainerError;

    #[test]
    fn warnings_say_each_cause_once() {
        let io = std::io::Error::from_raw_os_error(libc::EBUSY);
        let e = ContainerError::io("remove", "/x")(io);
        // The message says the errno already.
        assert_eq!(causes(&e), e.to_string());
        let e = ContainerError::Netd {
            id: "c0ffee".into(),
            source: netd_api::client::ClientError::Decode(
                serde_json::from_str::<u8>("x").unwrap_err(),
            ),
        };
        assert!(causes(&e).starts_with("decoding netd's answer: expected value"));
        let e = ContainerError::NoInitPid {
            path: "/run/x/init.pid".into(),
            source: "".parse::<i32>().unwrap_err(),
        };
        assert_eq!(
            causes(&e),
            "the runtime wrote no init pid: cannot parse integer from empty string"
        );
    }
}
