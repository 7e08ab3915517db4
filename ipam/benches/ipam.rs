//! IPAM benchmark: allocations/s and releases/s for a /24, a nearly full
//! /16, a /8 and an IPv6 /64, and the memory held per allocated address.
//!
//! Run with `cargo bench -p ipam --bench ipam` (or `make bench-ipam`). It
//! prints figures; it asserts nothing, since timings vary with the machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipam::{AddressSpace, Ipam, PoolId, PoolRequest};

/// Counts the bytes currently allocated, to measure the IPAM's memory.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments
// unchanged; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }
}

fn pool(ipam: &mut Ipam, subnet: &str) -> PoolId {
    ipam.request_pool(
        AddressSpace::Local,
        PoolRequest::Subnet {
            subnet: subnet.parse().expect("bench subnets are valid"),
            range: None,
        },
    )
    .expect("fresh IPAM")
}

fn rate(n: usize, d: Duration) -> String {
    let per_s = n as f64 / d.as_secs_f64();
    format!("{:>12.0}/s ({:>6.1} ns/op)", per_s, 1e9 / per_s)
}

fn shuffle(v: &mut [IpAddr], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Fill the whole /24, release it all, many times over.
fn bench_24() {
    let mut ipam = Ipam::default();
    let id = pool(&mut ipam, "10.1.0.0/24");
    let rounds = 20_000;
    let (mut ta, mut tr, mut n) = (Duration::ZERO, Duration::ZERO, 0);
    let mut rng = Rng(7);
    let mut held = Vec::with_capacity(254);
    for _ in 0..rounds {
        let t = Instant::now();
        while let Ok(ip) = ipam.request_address(&id, None) {
            held.push(ip);
        }
        ta += t.elapsed();
        n += held.len();
        shuffle(&mut held, &mut rng);
        let t = Instant::now();
        for ip in held.drain(..) {
            ipam.release_address(&id, ip).expect("held");
        }
        tr += t.elapsed();
    }
    println!(
        "/24 (254 addresses, filled and emptied {rounds}x)  alloc {}  release {}",
        rate(n, ta),
        rate(n, tr)
    );
}

/// Keep a /16 at 65,000 of 65,534 addresses: release a random one, then
/// allocate, so every allocation must find a hole in a full pool.
fn bench_16_nearly_full() {
    let mut ipam = Ipam::default();
    let id = pool(&mut ipam, "10.2.0.0/16");
    let mut held: Vec<IpAddr> = (0..65_000)
        .map(|_| ipam.request_address(&id, None).expect("room"))
        .collect();
    let mut rng = Rng(11);
    let n = 200_000;
    let (mut ta, mut tr) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..n {
        let i = rng.below(held.len());
        let ip = held.swap_remove(i);
        let t = Instant::now();
        ipam.release_address(&id, ip).expect("held");
        tr += t.elapsed();
        let t = Instant::now();
        held.push(ipam.request_address(&id, None).expect("a hole exists"));
        ta += t.elapsed();
    }
    println!(
        "/16 nearly full (65,000 of 65,534 held)        alloc {}  release {}",
        rate(n, ta),
        rate(n, tr)
    );
}

/// One million allocations in a large pool, then one million releases in
/// random order; returns the pool for the memory figures.
fn bench_big(label: &str, subnet: &str) {
    let mut ipam = Ipam::default();
    let id = pool(&mut ipam, subnet);
    let n = 1_000_000;
    let t = Instant::now();
    let mut held: Vec<IpAddr> = (0..n)
        .map(|_| ipam.request_address(&id, None).expect("room"))
        .collect();
    let ta = t.elapsed();
    shuffle(&mut held, &mut Rng(13));
    let t = Instant::now();
    for ip in &held {
        ipam.release_address(&id, *ip).expect("held");
    }
    let tr = t.elapsed();
    black_box(&ipam);
    println!("{label:<46} alloc {}  release {}", rate(n, ta), rate(n, tr));
}

/// Bytes the IPAM holds after `f` built it, per allocated address.
fn memory(label: &str, f: impl FnOnce() -> (Ipam, u128)) {
    let before = LIVE.load(Ordering::Relaxed);
    let (ipam, allocated) = f();
    let bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "{label:<58} {:>10} bytes for {:>9} addresses = {:>6.2} bytes/address",
        bytes,
        allocated,
        bytes as f64 / allocated as f64
    );
    drop(ipam);
}

fn main() {
    println!("IPAM allocation (one core, release build)");
    bench_24();
    bench_16_nearly_full();
    bench_big("/8 (1,000,000 of 16,777,214)", "10.0.0.0/8");
    bench_big("IPv6 /64 (1,000,000 of 2^64)", "fd00:1::/64");
    println!("\nIPAM memory (allocator-counted, whole IPAM state)");
    memory("IPv6 /64, 1,000,000 handed out in order", || {
        let mut ipam = Ipam::default();
        let id = pool(&mut ipam, "fd00:2::/64");
        for _ in 0..1_000_000 {
            ipam.request_address(&id, None).expect("room");
        }
        (ipam, 1_000_000)
    });
    memory(
        "IPv6 /64, 1,000,000 then every other released (worst case)",
        || {
            let mut ipam = Ipam::default();
            let id = pool(&mut ipam, "fd00:3::/64");
            let held: Vec<IpAddr> = (0..1_000_000)
                .map(|_| ipam.request_address(&id, None).expect("room"))
                .collect();
            for ip in held.iter().step_by(2) {
                ipam.release_address(&id, *ip).expect("held");
            }
            (ipam, 500_000)
        },
    );
    memory("IPv4 /8, 1,000 random addresses (worst case)", || {
        let mut ipam = Ipam::default();
        let id = pool(&mut ipam, "10.0.0.0/8");
        let mut rng = Rng(17);
        let mut n = 0;
        while n < 1000 {
            let off = u32::try_from(rng.next() % 16_000_000).expect("fits") + 2;
            let ip = IpAddr::V4((0x0a00_0000u32 + off).into());
            if ipam.request_address(&id, Some(ip)).is_ok() {
                n += 1;
            }
        }
        (ipam, 1000)
    });
}
