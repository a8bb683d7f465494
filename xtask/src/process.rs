//! Child processes that never outlive the xtask: the emulator and the integration are stopped
//! when a task ends, fails, or is interrupted (Ctrl-C, `kill`).
//!
//! Children run in their own process group, so a Ctrl-C at the terminal reaches only the xtask,
//! which passes exactly one SIGINT on (a second one makes Ocean exit without cleaning up).
//! Every child is registered while it runs; the interrupt handler (installed once by `main`)
//! sends each registered child SIGINT — both programs shut down gracefully on it — waits
//! briefly, kills what is left and exits with status 130. A task that wants to wait for Ctrl-C
//! itself ([`wait_for_interrupt`]) gets it instead. A dropped [`Managed`] child is stopped the same
//! way, so an early `?` return never leaks a process.

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::process::{Child, ExitStatus};
use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static WAITER: Mutex<Option<Sender<()>>> = Mutex::new(None);

/// How long a child gets to stop after SIGINT before it is killed.
const GRACE: Duration = Duration::from_secs(10);

/// Installs the Ctrl-C / SIGTERM handler. Call once, early in `main`.
pub fn install_interrupt_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        if let Some(waiter) = WAITER.lock().ok().and_then(|mut w| w.take()) {
            let _ = waiter.send(());
            return;
        }
        eprintln!("\ninterrupted: stopping child processes");
        let pids: Vec<u32> = CHILDREN.lock().map(|c| c.clone()).unwrap_or_default();
        for pid in &pids {
            signal(*pid, Signal::SIGINT);
        }
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && pids.iter().any(|pid| alive(*pid)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in pids.iter().filter(|pid| alive(**pid)) {
            signal(*pid, Signal::SIGKILL);
        }
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")
}

/// Blocks until the user presses Ctrl-C (or the process gets SIGTERM).
pub fn wait_for_interrupt() {
    let (tx, rx) = mpsc::channel();
    if let Ok(mut waiter) = WAITER.lock() {
        *waiter = Some(tx);
    }
    let _ = rx.recv();
}

/// Whether a process runs (exists and is not a zombie waiting to be reaped).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z') | Some('X'))
}

fn signal(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// A child process stopped (SIGINT, then SIGKILL after a grace period) when dropped. Spawn it
/// with `CommandExt::process_group(0)` so that the terminal's Ctrl-C does not reach it twice.
#[derive(Debug)]
pub struct Managed {
    child: Option<Child>,
    name: String,
}

impl Managed {
    /// Takes charge of a spawned child; `name` is used in messages.
    pub fn new(child: Child, name: impl Into<String>) -> Managed {
        if let Ok(mut children) = CHILDREN.lock() {
            children.push(child.id());
        }
        Managed {
            child: Some(child),
            name: name.into(),
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The exit status if it has exited, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => child
                .try_wait()
                .with_context(|| format!("checking on {}", self.name)),
            None => Ok(None),
        }
    }

    /// Waits for the child to exit by itself.
    pub fn wait(mut self) -> Result<ExitStatus> {
        let mut child = self.child.take().context("child already reaped")?;
        let status = child.wait();
        unregister(child.id());
        status.with_context(|| format!("waiting for {}", self.name))
    }

    /// Asks the child to stop (SIGINT), waits up to the grace period, then kills it.
    pub fn stop(mut self) -> Result<ExitStatus> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<ExitStatus> {
        let mut child = self.child.take().context("child already reaped")?;
        if let Some(status) = child.try_wait()? {
            unregister(child.id());
            return Ok(status);
        }
        signal(child.id(), Signal::SIGINT);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                unregister(child.id());
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop within {GRACE:?}; killing it", self.name);
        let _ = child.kill();
        let status = child.wait();
        unregister(child.id());
        status.with_context(|| format!("waiting for {}", self.name))
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop_inner();
        }
    }
}

fn unregister(pid: u32) {
    if let Ok(mut children) = CHILDREN.lock() {
        children.retain(|p| *p != pid);
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released: another process could take it first,
/// which only makes the program that wanted it fail to start).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .context("finding a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}
