//! What connect-time translation costs and saves when a connection is set
//! up: short TCP connections from the host (connect, read the server's few
//! bytes to the end, close), each kind made by a child process that runs
//! either in the cgroup netd's programs cover or in a sibling cgroup they do
//! not, in alternating rounds:
//!
//! - to a port nobody published, on 127.0.0.1: the programs run on every
//!   connect of the cgroup and find nothing, which is their whole cost for
//!   all the host's other connections;
//! - to a published port on the host's LAN address: DNAT (outside) against
//!   translation (inside).

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

/// The flag that makes the benchmark binary the connecting child.
pub(crate) const LOOP_FLAG: &str = "--connect-loop";
/// Connections per child.
const CONNECTIONS: u32 = 4000;
/// Rounds; each runs every kind once.
const ROUNDS: usize = 8;

/// The child: `n` short connections to `addr`; prints the mean time of one,
/// in microseconds.
pub(crate) fn child(addr: &str, n: &str) -> anyhow::Result<()> {
    let addr: SocketAddr = addr.parse()?;
    let n: u32 = n.parse()?;
    pin(0)?;
    let linger = nix::sys::socket::sockopt::Linger;
    let abort = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let start = Instant::now();
    let mut buf = [0u8; 64];
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        while s.read(&mut buf)? > 0 {}
        // Closed with a reset: no TIME_WAIT to run out of ports with.
        nix::sys::socket::setsockopt(&s, linger, &abort)?;
    }
    println!("{}", start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    Ok(())
}

/// Keeps the calling thread on CPU `cpu`: the clients on one CPU, the
/// servers on the other, as in the throughput runs.
fn pin(cpu: usize) -> nix::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}

/// One child's mean microseconds per connection, run in `cgroup`.
fn run_child(cgroup: &str, addr: &str) -> anyhow::Result<f64> {
    let me = std::env::current_exe()?;
    let me = me.to_string_lossy();
    let n = CONNECTIONS.to_string();
    let args = [
        "sh",
        "-c",
        r#"echo $$ > "$0/cgroup.procs" && exec "$@""#,
        cgroup,
        me.as_ref(),
        LOOP_FLAG,
        addr,
        &n,
    ];
    let out = Command::new(args[0]).args(&args[1..]).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures and prints; `published` answers on the container's side (a
/// server that writes a line and closes).
pub(crate) fn report(nat_cgroup: &str, plain_cgroup: &str, published: &str) -> anyhow::Result<()> {
    let local = TcpListener::bind("127.0.0.1:0")?;
    let unpublished = local.local_addr()?.to_string();
    std::thread::spawn(move || {
        let _ = pin(1);
        for conn in local.incoming().flatten() {
            let mut conn = conn;
            let _ = std::io::Write::write_all(&mut conn, b"ok\n");
        }
    });
    let kinds: [(&str, &str); 4] = [
        (plain_cgroup, &unpublished),
        (nat_cgroup, &unpublished),
        (plain_cgroup, published),
        (nat_cgroup, published),
    ];
    let mut us: [Vec<f64>; 4] = Default::default();
    // Each pair (without, with) in turn, in alternating order (AB BA ...),
    // so that a drift of the machine lands on both sides of a pair.
    for round in 0..ROUNDS {
        for pair in [[0, 1], [2, 3]] {
            let order = if round % 2 == 0 {
                pair
            } else {
                [pair[1], pair[0]]
            };
            for i in order {
                us[i].push(run_child(kinds[i].0, kinds[i].1)?);
            }
        }
    }
    let [plain, miss, dnat, translated] = us.map(median);
    println!(
        "connection set-up ({CONNECTIONS} short TCP connections from the host per run, {ROUNDS} rounds, median µs each):"
    );
    println!(
        "  to an unpublished port:  {plain:6.1} µs without the programs, {miss:6.1} µs with them ({:+.1} µs)",
        miss - plain
    );
    println!(
        "  to a published port:     {dnat:6.1} µs through DNAT, {translated:6.1} µs translated at connect() ({:+.0}%)",
        (translated / dnat - 1.0) * 100.0
    );
    Ok(())
}
