//! Applying an nftables batch: one atomic kernel transaction per call.
//!
//! Spawning `nft` costs a few milliseconds per batch; libnftables, the
//! library behind it, takes the same JSON in-process for a fraction of
//! that. netd loads the library at run time (`libnftables.so.1`, shipped
//! with the nftables package) so that it needs no development files to
//! build, and falls back to the command when the library is missing.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// A batch the kernel refused, or that could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    /// nftables refused the batch.
    #[error("nftables refused the change: {0}")]
    Refused(String),
    /// The `nft` command could not run.
    #[error("running nft: {0}")]
    Spawn(#[from] std::io::Error),
}

type CtxNew = unsafe extern "C" fn(c_uint) -> *mut c_void;
type CtxSetFlags = unsafe extern "C" fn(*mut c_void, c_uint);
type CtxBuffer = unsafe extern "C" fn(*mut c_void) -> c_int;
type RunCmd = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
type GetBuffer = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type CtxFree = unsafe extern "C" fn(*mut c_void);

/// libnftables' entry points (see libnftables(3)).
struct Lib {
    ctx: *mut c_void,
    run_cmd_from_buffer: RunCmd,
    get_error_buffer: GetBuffer,
    get_output_buffer: GetBuffer,
    ctx_free: CtxFree,
}

// SAFETY: the context is only used under the `Nft` mutex, one thread at a
// time, which is all libnftables asks of its callers.
unsafe impl Send for Lib {}

/// `NFT_CTX_OUTPUT_JSON`: JSON in and out.
const OUTPUT_JSON: c_uint = 1 << 4;

impl Lib {
    /// Loads libnftables and makes a context; `None` when unavailable.
    fn load() -> Option<Self> {
        let name = CString::new("libnftables.so.1").expect("no NUL in the name");
        // SAFETY: dlopen with a valid C string; a null result is handled.
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return None;
        }
        let sym = |n: &str| -> Option<*mut c_void> {
            let c = CString::new(n).expect("no NUL in symbol names");
            // SAFETY: handle is a live dlopen handle and c a valid C string.
            let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
            (!p.is_null()).then_some(p)
        };
        // SAFETY: each symbol comes from libnftables and is given the
        // signature libnftables(3) documents for it.
        unsafe {
            let ctx_new = std::mem::transmute::<*mut c_void, CtxNew>(sym("nft_ctx_new")?);
            let set_output_flags =
                std::mem::transmute::<*mut c_void, CtxSetFlags>(sym("nft_ctx_output_set_flags")?);
            let buffer_output =
                std::mem::transmute::<*mut c_void, CtxBuffer>(sym("nft_ctx_buffer_output")?);
            let buffer_error =
                std::mem::transmute::<*mut c_void, CtxBuffer>(sym("nft_ctx_buffer_error")?);
            let lib = Self {
                ctx: ctx_new(0),
                run_cmd_from_buffer: std::mem::transmute::<*mut c_void, RunCmd>(sym(
                    "nft_run_cmd_from_buffer",
                )?),
                get_error_buffer: std::mem::transmute::<*mut c_void, GetBuffer>(sym(
                    "nft_ctx_get_error_buffer",
                )?),
                get_output_buffer: std::mem::transmute::<*mut c_void, GetBuffer>(sym(
                    "nft_ctx_get_output_buffer",
                )?),
                ctx_free: std::mem::transmute::<*mut c_void, CtxFree>(sym("nft_ctx_free")?),
            };
            if lib.ctx.is_null() {
                return None;
            }
            set_output_flags(lib.ctx, OUTPUT_JSON);
            if buffer_output(lib.ctx) != 0 || buffer_error(lib.ctx) != 0 {
                return None;
            }
            Some(lib)
        }
    }

    /// Runs one command buffer; returns the output, or the error text.
    fn run(&self, cmd: &str) -> Result<String, NftError> {
        let c = CString::new(cmd).map_err(|_| NftError::Refused("NUL byte in the batch".into()))?;
        // SAFETY: ctx is a live context used by this thread alone (mutex);
        // the buffers returned stay valid until the next call on ctx, and
        // are copied out before it.
        unsafe {
            let rc = (self.run_cmd_from_buffer)(self.ctx, c.as_ptr());
            let out = CStr::from_ptr((self.get_output_buffer)(self.ctx))
                .to_string_lossy()
                .into_owned();
            if rc != 0 {
                let err = CStr::from_ptr((self.get_error_buffer)(self.ctx))
                    .to_string_lossy()
                    .trim()
                    .to_owned();
                return Err(NftError::Refused(err));
            }
            Ok(out)
        }
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        if !self.ctx.is_null() {
            // SAFETY: ctx came from nft_ctx_new and is freed exactly once.
            unsafe { (self.ctx_free)(self.ctx) };
        }
    }
}

/// Applies batches to the kernel.
pub struct Nft {
    lib: Option<Mutex<Lib>>,
}

impl std::fmt::Debug for Nft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nft")
            .field("in_process", &self.lib.is_some())
            .finish()
    }
}

impl Nft {
    /// Uses libnftables when it loads, else the `nft` command.
    pub fn new() -> Self {
        Self {
            lib: Lib::load().map(Mutex::new),
        }
    }

    /// Always the `nft` command (for tests and comparison).
    pub fn command_only() -> Self {
        Self { lib: None }
    }

    /// Whether batches run in-process.
    pub fn in_process(&self) -> bool {
        self.lib.is_some()
    }

    /// Runs a JSON document (a batch, or a `list` command) and returns what
    /// nftables printed.
    pub fn run_json(&self, json: &str) -> Result<String, NftError> {
        match &self.lib {
            Some(lib) => lib
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .run(json),
            None => {
                let mut child = Command::new("nft")
                    .args(["-j", "-f", "-"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()?;
                child
                    .stdin
                    .take()
                    .expect("stdin was piped")
                    .write_all(json.as_bytes())?;
                let out = child.wait_with_output()?;
                if !out.status.success() {
                    return Err(NftError::Refused(
                        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                    ));
                }
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            }
        }
    }

    /// Applies a change in one transaction.
    pub fn apply(&self, change: super::Change) -> Result<(), NftError> {
        if change.is_empty() {
            return Ok(());
        }
        self.run_json(&change.to_json()).map(|_| ())
    }

    /// Whether netd's tables are intact: both forward chains exist and hold
    /// their rules (a flushed ruleset, a deleted table or flushed chains all
    /// fail this). Lists two chains only, never the elements.
    pub fn table_exists(&self) -> bool {
        let chain = |family: &str, rule_marker: &str| {
            let cmd = format!(
                r#"{{"nftables":[{{"list":{{"chain":{{"family":"{family}","table":"netd","name":"forward"}}}}}}]}}"#
            );
            self.run_json(&cmd)
                .is_ok_and(|out| out.contains(rule_marker))
        };
        chain("inet", "to_bridge") && chain("bridge", "noicc_ports")
    }
}

impl Default for Nft {
    fn default() -> Self {
        Self::new()
    }
}
