//! The thread that owns the [`Store`], and the cloneable handle async code uses to run work on
//! it.
//!
//! SQLite calls block, so they never run on the async runtime: each call ships a closure to this
//! one thread and awaits its answer. One thread also means one writer, which is what SQLite
//! wants, and makes every operation atomic with respect to the others without locks. It does not
//! pool connections: the emulator's reads are as cheap as its writes.

use crate::error::EmulatorError;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A handle to the database thread.
#[derive(Clone)]
pub(crate) struct Db {
    jobs: mpsc::Sender<Job>,
}

/// Owns the thread; joining it waits until every [`Db`] handle is gone.
pub(crate) struct DbThread {
    handle: Option<JoinHandle<()>>,
}

impl Db {
    /// Opens the store on a new thread and returns a handle to it.
    pub(crate) fn start(path: Option<PathBuf>) -> Result<(Db, DbThread), EmulatorError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened_tx, opened_rx) = mpsc::channel::<Result<(), EmulatorError>>();
        let handle = std::thread::Builder::new()
            .name("port-emulator-db".to_owned())
            .spawn(move || {
                let mut store = match Store::open(path.as_deref()) {
                    Ok(store) => {
                        let _ = opened_tx.send(Ok(()));
                        store
                    }
                    Err(err) => {
                        let _ = opened_tx.send(Err(err));
                        return;
                    }
                };
                while let Ok(job) = queue.recv() {
                    // A panicking job (a bug) fails its own call (its answer channel is
                    // dropped, so the caller gets `DbGone`) without taking the emulator down;
                    // its transaction, if any, was rolled back when it unwound.
                    let outcome =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut store)));
                    if outcome.is_err() {
                        tracing::error!("an emulator database operation panicked");
                    }
                }
            })
            .map_err(|_| EmulatorError::DbGone)?;
        match opened_rx.recv() {
            Ok(Ok(())) => Ok((
                Db { jobs },
                DbThread {
                    handle: Some(handle),
                },
            )),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(EmulatorError::DbGone),
        }
    }

    /// Runs `work` on the database thread and returns its result.
    pub(crate) async fn call<R, F>(&self, work: F) -> Result<R, EmulatorError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> R + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |store| {
                let _ = tx.send(work(store));
            }))
            .map_err(|_| EmulatorError::DbGone)?;
        rx.await.map_err(|_| EmulatorError::DbGone)
    }
}

impl DbThread {
    /// Waits (blocking) for the thread to finish; call once every handle is dropped.
    pub(crate) fn join(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
