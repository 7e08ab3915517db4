//! The eBPF programs of connect-time translation, assembled as data.
//!
//! No BPF compiler is needed: the programs are a few dozen instructions,
//! written here with a small assembler that resolves jumps to labels. Pure
//! code: the map descriptors and the network namespace's cookie are
//! parameters, so the bytecode can be checked in unit tests, and only
//! [`super::sys`] hands it to the kernel.
//!
//! `connect4` (attached at `BPF_CGROUP_INET4_CONNECT`), for a TCP socket of
//! netd's own network namespace that connects to a published address:
//!
//! ```text
//! the client is bound to 127/8                  -> leave it to DNAT
//! daddr is neither 127/8 nor in locals          -> leave the connect alone
//! key = (daddr, dport)            in ports      -> found
//! key = (0.0.0.0, dport)          in ports      -> found
//! otherwise                                     -> leave the connect alone
//! found: remember (daddr, dport, container's) under the socket's cookie
//!        in peers, and connect to the container's (address, port) instead
//! ```
//!
//! `getpeername4` (at `BPF_CGROUP_INET4_GETPEERNAME`) answers the address
//! the program remembered, so the application sees the address it asked
//! for, as it would through DNAT. `connect6` and `getpeername6` do the same
//! for IPv6 sockets and ports (the host's own addresses being `::1` and
//! those in `locals`).

/// One eBPF instruction, in the kernel's layout (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register (low nibble) and source register (high nibble).
    pub regs: u8,
    /// Offset: of a memory access, or of a jump, in instructions.
    pub off: i16,
    /// Immediate operand.
    pub imm: i32,
}

// Instruction classes, sizes, modes and operations (linux/bpf_common.h,
// linux/bpf.h).
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
const W: u8 = 0x00;
const DW: u8 = 0x18;
const IMM: u8 = 0x00;
const MEM: u8 = 0x60;
const K: u8 = 0x00;
const X: u8 = 0x08;
const ADD: u8 = 0x00;
const OR: u8 = 0x40;
const AND: u8 = 0x50;
const MOV: u8 = 0xb0;
const JEQ: u8 = 0x10;
const JNE: u8 = 0x50;
const CALL: u8 = 0x80;
const EXIT: u8 = 0x90;
/// `src_reg` of a 64-bit load whose immediate is a map's descriptor.
const PSEUDO_MAP_FD: u8 = 1;

/// Helper functions called (`enum bpf_func_id`).
const MAP_LOOKUP_ELEM: i32 = 1;
const MAP_UPDATE_ELEM: i32 = 2;
const GET_SOCKET_COOKIE: i32 = 46;
const GET_NETNS_COOKIE: i32 = 122;

/// Offsets in `struct bpf_sock_addr`, the programs' context.
const CTX_USER_IP4: i16 = 4;
const CTX_USER_IP6: i16 = 8;
const CTX_USER_PORT: i16 = 24;
const CTX_PROTOCOL: i16 = 36;
const CTX_SK: i16 = 64;
/// Offset of `src_ip4` in `struct bpf_sock`, what `CTX_SK` points to.
const SOCK_SRC_IP4: i16 = 24;

const IPPROTO_TCP: i32 = 6;

/// Registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reg {
    /// Return value, helper result.
    R0 = 0,
    /// First argument (the context on entry).
    R1,
    /// Second argument.
    R2,
    /// Third argument.
    R3,
    /// Fourth argument.
    R4,
    /// Fifth argument.
    R5,
    /// Callee-saved.
    R6,
    /// Callee-saved.
    R7,
    /// Callee-saved.
    R8,
    /// Callee-saved.
    R9,
    /// The frame pointer (read-only).
    R10,
}

use Reg::{R0, R1, R2, R3, R4, R6, R7, R8, R9, R10};

// `struct bpf_insn` packs the two registers as bit fields, whose order
// follows the machine's byte order; only the little-endian one is written.
#[cfg(not(target_endian = "little"))]
compile_error!("connect_nat::program encodes instructions for little-endian machines only");

fn insn(code: u8, dst: Reg, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst as u8,
        off,
        imm,
    }
}

/// A forward jump waiting for its label's position.
#[derive(Debug)]
struct Fixup {
    at: usize,
    label: &'static str,
}

/// A tiny assembler: instructions in order, jumps to named labels.
#[derive(Debug, Default)]
struct Asm {
    code: Vec<Insn>,
    labels: Vec<(&'static str, usize)>,
    fixups: Vec<Fixup>,
}

impl Asm {
    fn emit(&mut self, i: Insn) -> &mut Self {
        self.code.push(i);
        self
    }
    fn label(&mut self, name: &'static str) -> &mut Self {
        self.labels.push((name, self.code.len()));
        self
    }
    fn mov(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.emit(insn(ALU64 | MOV | X, dst, src as u8, 0, 0))
    }
    fn mov_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.emit(insn(ALU64 | MOV | K, dst, 0, 0, imm))
    }
    fn add_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.emit(insn(ALU64 | ADD | K, dst, 0, 0, imm))
    }
    fn or(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.emit(insn(ALU64 | OR | X, dst, src as u8, 0, 0))
    }
    /// 32-bit AND (the upper half is cleared).
    fn and32_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.emit(insn(ALU | AND | K, dst, 0, 0, imm))
    }
    fn load32(&mut self, dst: Reg, base: Reg, off: i16) -> &mut Self {
        self.emit(insn(LDX | MEM | W, dst, base as u8, off, 0))
    }
    fn load64(&mut self, dst: Reg, base: Reg, off: i16) -> &mut Self {
        self.emit(insn(LDX | MEM | DW, dst, base as u8, off, 0))
    }
    fn store32(&mut self, base: Reg, off: i16, src: Reg) -> &mut Self {
        self.emit(insn(STX | MEM | W, base, src as u8, off, 0))
    }
    fn store64(&mut self, base: Reg, off: i16, src: Reg) -> &mut Self {
        self.emit(insn(STX | MEM | DW, base, src as u8, off, 0))
    }
    fn store32_imm(&mut self, base: Reg, off: i16, imm: i32) -> &mut Self {
        self.emit(insn(ST | MEM | W, base, 0, off, imm))
    }
    /// `dst = imm` for a 64-bit immediate (two instructions).
    fn load_imm64(&mut self, dst: Reg, src: u8, imm: u64) -> &mut Self {
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = (imm as u32, (imm >> 32) as u32);
        self.emit(insn(LD | DW | IMM, dst, src, 0, lo.cast_signed()));
        self.emit(insn(0, R0, 0, 0, hi.cast_signed()))
    }
    fn load_map(&mut self, dst: Reg, fd: i32) -> &mut Self {
        self.load_imm64(dst, PSEUDO_MAP_FD, u64::from(fd.cast_unsigned()))
    }
    /// `r2 = r10 + off`: a pointer into the stack, for a helper's argument.
    fn stack_ptr(&mut self, dst: Reg, off: i32) -> &mut Self {
        self.mov(dst, R10).add_imm(dst, off)
    }
    fn call(&mut self, helper: i32) -> &mut Self {
        self.emit(insn(JMP | CALL, R0, 0, 0, helper))
    }
    fn jump_imm(&mut self, op: u8, dst: Reg, imm: i32, label: &'static str) -> &mut Self {
        self.fixups.push(Fixup {
            at: self.code.len(),
            label,
        });
        self.emit(insn(JMP | op | K, dst, 0, 0, imm))
    }
    fn jump_reg(&mut self, op: u8, dst: Reg, src: Reg, label: &'static str) -> &mut Self {
        self.fixups.push(Fixup {
            at: self.code.len(),
            label,
        });
        self.emit(insn(JMP | op | X, dst, src as u8, 0, 0))
    }
    fn exit(&mut self) -> &mut Self {
        self.emit(insn(JMP | EXIT, R0, 0, 0, 0))
    }

    /// The instructions, every jump resolved.
    fn finish(mut self) -> Vec<Insn> {
        for f in &self.fixups {
            let target = self
                .labels
                .iter()
                .find(|(n, _)| *n == f.label)
                .map(|(_, at)| *at)
                .expect("every jump names a label of the same program");
            // Relative to the next instruction.
            let off = i16::try_from(target.cast_signed() - f.at.cast_signed() - 1)
                .expect("programs are far shorter than 32k instructions");
            self.code[f.at].off = off;
        }
        self.code
    }
}

/// The descriptors of the three maps a family's programs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapFds {
    /// Published ports: the address and port asked for (16 bytes of
    /// address for IPv6), then the container's, in the same layout.
    pub ports: i32,
    /// The host's own addresses (key: the address, as in the socket).
    pub locals: i32,
    /// For each translated socket, by cookie: the address and port asked
    /// for, then the container's.
    pub peers: i32,
}

/// The start of both connect programs: the context into r6, and on to
/// `out` unless the socket is TCP (UDP keeps to the DNAT path) and of the
/// network namespace whose cookie is `netns_cookie`.
fn tcp_of_the_namespace(a: &mut Asm, netns_cookie: u64) -> &mut Asm {
    a.mov(R6, R1)
        .load32(R0, R6, CTX_PROTOCOL)
        .jump_imm(JNE, R0, IPPROTO_TCP, "out")
        .mov(R1, R6)
        .call(GET_NETNS_COOKIE)
        .load_imm64(R1, 0, netns_cookie)
        .jump_reg(JNE, R0, R1, "out")
}

/// `connect4`: see the module's documentation. Only sockets of the network
/// namespace whose cookie is `netns_cookie` are translated: a container
/// connecting to its own 127.0.0.1 must reach itself.
pub fn connect4(maps: MapFds, netns_cookie: u64) -> Vec<Insn> {
    let mut a = Asm::default();
    tcp_of_the_namespace(&mut a, netns_cookie)
        // A client bound to a loopback address keeps to the DNAT path,
        // whose masquerade gives the container an address it can answer.
        .load64(R1, R6, CTX_SK)
        .load32(R1, R1, SOCK_SRC_IP4)
        .and32_imm(R1, first_octet_mask())
        .jump_imm(JEQ, R1, loopback_first_octet(), "out")
        // r7 = daddr, r8 = dport, both in network order as the socket has them.
        .load32(R7, R6, CTX_USER_IP4)
        .load32(R8, R6, CTX_USER_PORT)
        // Published ports are the host's own: 127/8 or one of its addresses.
        .mov(R1, R7)
        .and32_imm(R1, first_octet_mask())
        .jump_imm(JEQ, R1, loopback_first_octet(), "local")
        .store32(R10, -12, R7)
        .load_map(R1, maps.locals)
        .stack_ptr(R2, -12)
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JEQ, R0, 0, "out")
        .label("local")
        // The mapping for this address, else the one for every address.
        .store32(R10, -8, R7)
        .store32(R10, -4, R8)
        .load_map(R1, maps.ports)
        .stack_ptr(R2, -8)
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JNE, R0, 0, "found")
        .store32_imm(R10, -8, 0)
        .load_map(R1, maps.ports)
        .stack_ptr(R2, -8)
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JEQ, R0, 0, "out")
        .label("found")
        // Connect to the container instead, and remember both addresses
        // for getpeername: [asked ip, asked port, container ip, port].
        .mov(R9, R0)
        .store32(R10, -32, R7)
        .store32(R10, -28, R8)
        .load32(R1, R9, 0)
        .store32(R10, -24, R1)
        .store32(R6, CTX_USER_IP4, R1)
        .load32(R1, R9, 4)
        .store32(R10, -20, R1)
        .store32(R6, CTX_USER_PORT, R1);
    remember_and_return(&mut a, maps.peers, -8, -32);
    a.finish()
}

/// The end of both connect programs: the record at `record` (what was asked
/// for, then the container's) goes into `peers` under the socket's cookie,
/// kept at `cookie`; then the `out` label, where the connect goes on.
fn remember_and_return(a: &mut Asm, peers: i32, cookie: i16, record: i16) {
    a.mov(R1, R6)
        .call(GET_SOCKET_COOKIE)
        .store64(R10, cookie, R0)
        .load_map(R1, peers)
        .stack_ptr(R2, i32::from(cookie))
        .stack_ptr(R3, i32::from(record))
        .mov_imm(R4, 0)
        .call(MAP_UPDATE_ELEM)
        .label("out")
        // 1: let the connect go on (0 would refuse it).
        .mov_imm(R0, 1)
        .exit();
}

/// `getpeername4`: the address a translated socket asked for, while the
/// socket's peer is still the container it was sent to (a socket whose
/// connect failed may connect again, elsewhere).
pub fn getpeername4(maps: MapFds) -> Vec<Insn> {
    getpeername(maps, &[CTX_USER_IP4, CTX_USER_PORT])
}

/// `getpeername` over the context's 32-bit words `words` (address, then
/// port); the peers record holds them twice: asked for, then the
/// container's.
fn getpeername(maps: MapFds, words: &[i16]) -> Vec<Insn> {
    let target = i16::try_from(4 * words.len()).expect("a few words");
    let mut a = Asm::default();
    a.mov(R6, R1)
        .call(GET_SOCKET_COOKIE)
        .store64(R10, -8, R0)
        .load_map(R1, maps.peers)
        .stack_ptr(R2, -8)
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JEQ, R0, 0, "out");
    for (i, &ctx) in (0i16..).zip(words) {
        a.load32(R1, R6, ctx)
            .load32(R2, R0, target + 4 * i)
            .jump_reg(JNE, R1, R2, "out");
    }
    for (i, &ctx) in (0i16..).zip(words) {
        a.load32(R1, R0, 4 * i).store32(R6, ctx, R1);
    }
    a.label("out").mov_imm(R0, 1).exit();
    a.finish()
}

/// `connect6`: `connect4` for IPv6 sockets and IPv6 published ports.
/// The host's own addresses are `::1` and those in `locals`; a
/// v4-mapped destination is never in either, so dual-stack sockets reaching
/// IPv4 ports keep to DNAT.
pub fn connect6(maps: MapFds, netns_cookie: u64) -> Vec<Insn> {
    // Stack: the ports key [address, port] at -24; the peers value [asked
    // address, port, container address, port] at -64; the cookie at -72.
    const KEY: i16 = -24;
    const ASKED: i16 = -64;
    const TARGET: i16 = -44;
    let mut a = Asm::default();
    tcp_of_the_namespace(&mut a, netns_cookie);
    // Address and port, into the key and the record of what was asked.
    for w in 0..5 {
        a.load32(R1, R6, CTX_USER_IP6 + 4 * w)
            .store32(R10, KEY + 4 * w, R1)
            .store32(R10, ASKED + 4 * w, R1);
    }
    // ::1, or one of the host's addresses.
    a.load32(R1, R10, KEY)
        .load32(R2, R10, KEY + 4)
        .or(R1, R2)
        .load32(R2, R10, KEY + 8)
        .or(R1, R2)
        .jump_imm(JNE, R1, 0, "not_loopback")
        .load32(R1, R10, KEY + 12)
        .jump_imm(JEQ, R1, loopback6_last_word(), "local")
        .label("not_loopback")
        .load_map(R1, maps.locals)
        .stack_ptr(R2, i32::from(KEY))
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JEQ, R0, 0, "out")
        .label("local")
        .load_map(R1, maps.ports)
        .stack_ptr(R2, i32::from(KEY))
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JNE, R0, 0, "found");
    for w in 0..4 {
        a.store32_imm(R10, KEY + 4 * w, 0);
    }
    a.load_map(R1, maps.ports)
        .stack_ptr(R2, i32::from(KEY))
        .call(MAP_LOOKUP_ELEM)
        .jump_imm(JEQ, R0, 0, "out")
        .label("found")
        .mov(R9, R0);
    for w in 0..5 {
        a.load32(R1, R9, 4 * w)
            .store32(R10, TARGET + 4 * w, R1)
            .store32(R6, CTX_USER_IP6 + 4 * w, R1);
    }
    remember_and_return(&mut a, maps.peers, -72, ASKED);
    a.finish()
}

/// `getpeername6`: `getpeername4` for IPv6 sockets.
pub fn getpeername6(maps: MapFds) -> Vec<Insn> {
    getpeername(maps, &[8, 12, 16, 20, CTX_USER_PORT])
}

/// The last 32 bits of `::1` as a 32-bit load of the socket's address sees
/// them.
fn loopback6_last_word() -> i32 {
    u32::from_ne_bytes([0, 0, 0, 1]).cast_signed()
}

/// The bits of the first octet of an IPv4 address as a 32-bit load of the
/// socket's (network-order) address sees them.
fn first_octet_mask() -> i32 {
    u32::from_ne_bytes([0xff, 0, 0, 0]).cast_signed()
}

/// 127.0.0.0/8's first octet, placed as [`first_octet_mask`] places it.
fn loopback_first_octet() -> i32 {
    u32::from_ne_bytes([127, 0, 0, 0]).cast_signed()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: MapFds = MapFds {
        ports: 7,
        locals: 8,
        peers: 9,
    };

    fn is_jump(i: &Insn) -> bool {
        i.code & 0x07 == JMP && !matches!(i.code & 0xf0, CALL | EXIT)
    }

    #[test]
    fn every_jump_lands_inside_the_program_and_it_ends_with_exit() {
        for prog in [
            connect4(MAPS, 42),
            getpeername4(MAPS),
            connect6(MAPS, 42),
            getpeername6(MAPS),
        ] {
            for (at, i) in prog.iter().enumerate() {
                if is_jump(i) {
                    let to = at.cast_signed() + 1 + isize::from(i.off);
                    assert!(to > at.cast_signed() && to < prog.len().cast_signed());
                }
            }
            assert_eq!(prog.last().unwrap().code, JMP | EXIT);
        }
    }

    #[test]
    fn misses_and_other_protocols_end_at_the_same_return() {
        let prog = connect4(MAPS, 42);
        // `out` is `r0 = 1; exit`.
        let out = prog.len() - 2;
        assert_eq!(prog[out], insn(ALU64 | MOV | K, R0, 0, 0, 1));
        let targets: Vec<usize> = prog
            .iter()
            .enumerate()
            .filter(|(_, i)| is_jump(i))
            .map(|(at, i)| (at.cast_signed() + 1 + isize::from(i.off)).cast_unsigned())
            .collect();
        // Not TCP, another namespace, a loopback client, not local,
        // wildcard miss.
        assert_eq!(targets.iter().filter(|&&t| t == out).count(), 5);
    }

    #[test]
    fn maps_and_the_cookie_are_loaded_as_64_bit_immediates() {
        let prog = connect4(MAPS, 0x1122_3344_5566_7788);
        let loads: Vec<(u8, i32, i32)> = prog
            .windows(2)
            .filter(|w| w[0].code == LD | DW | IMM)
            .map(|w| (w[0].regs >> 4, w[0].imm, w[1].imm))
            .collect();
        assert!(loads.contains(&(0, 0x5566_7788, 0x1122_3344)));
        for fd in [7, 8, 9] {
            assert!(loads.contains(&(PSEUDO_MAP_FD, fd, 0)), "map {fd}");
        }
    }

    /// The context words a program writes, in order.
    fn context_writes(prog: &[Insn]) -> Vec<i16> {
        prog.iter()
            .filter(|i| i.code == STX | MEM | W && i.regs & 0x0f == R6 as u8)
            .map(|i| i.off)
            .collect()
    }

    #[test]
    fn connect6_rewrites_all_five_words_of_address_and_port() {
        let writes = context_writes(&connect6(MAPS, 1));
        assert_eq!(writes, vec![8, 12, 16, 20, CTX_USER_PORT]);
        assert_eq!(
            u32::from_ne_bytes(
                std::net::Ipv6Addr::LOCALHOST.octets()[12..]
                    .try_into()
                    .unwrap()
            ),
            loopback6_last_word().cast_unsigned()
        );
    }

    #[test]
    fn the_loopback_test_matches_127_in_network_order() {
        let addr = u32::from_ne_bytes([127, 0, 0, 53]);
        let masked = addr & first_octet_mask().cast_unsigned();
        assert_eq!(masked.cast_signed(), loopback_first_octet());
        let other = u32::from_ne_bytes([10, 0, 0, 127]);
        assert_ne!(
            (other & first_octet_mask().cast_unsigned()).cast_signed(),
            loopback_first_octet()
        );
    }

    #[test]
    fn translation_writes_both_address_and_port_of_the_context() {
        let writes = context_writes(&connect4(MAPS, 1));
        assert_eq!(writes, vec![CTX_USER_IP4, CTX_USER_PORT]);
        let writes = context_writes(&getpeername4(MAPS));
        assert_eq!(writes, vec![CTX_USER_IP4, CTX_USER_PORT]);
    }
}
