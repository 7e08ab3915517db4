//! berth's own terminal while a `-t` container is attached: raw mode, and
//! its size followed by the container's.

use std::os::unix::net::UnixStream;

use crate::container::attach::{self, Kind};

/// Puts berth's terminal in raw mode while a `-t` container is attached
/// (restored when dropped), as the docker CLI does.
pub(super) struct RawTerminal {
    saved: Option<nix::sys::termios::Termios>,
}

impl RawTerminal {
    pub(super) fn enter(tty: bool) -> Self {
        use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        if !tty || !std::io::IsTerminal::is_terminal(&stdin) {
            return Self { saved: None };
        }
        let Ok(saved) = tcgetattr(&stdin) else {
            return Self { saved: None };
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        Self { saved: Some(saved) }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                saved,
            );
        }
    }
}

/// The size of berth's terminal, when it has one.
fn terminal_size() -> Option<(u16, u16)> {
    use std::os::fd::AsRawFd;
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let fd = std::io::stdout().as_raw_fd();
    // SAFETY: TIOCGWINSZ writes one winsize to the pointer, valid here.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &raw mut size) };
    (r == 0 && size.ws_row > 0).then_some((size.ws_row, size.ws_col))
}

/// Sends the terminal's size now and whenever it changes.
pub(super) fn follow_size(mut conn: UnixStream) {
    std::thread::spawn(move || {
        let mut last = None;
        loop {
            let now = terminal_size();
            if now != last
                && let Some((rows, cols)) = now
            {
                let mut p = rows.to_be_bytes().to_vec();
                p.extend_from_slice(&cols.to_be_bytes());
                if attach::write_frame(&mut conn, Kind::Resize, &p).is_err() {
                    return;
                }
                last = now;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });
}
