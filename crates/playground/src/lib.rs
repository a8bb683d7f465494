//! The mapping playground behind `ocean playground [PATH]`: a page on 127.0.0.1 with three
//! panes — raw items (pasted, loaded from a file or from the integration's
//! `.port/examples/KIND.json`), the port-app-config (the integration's own by default) and the
//! result — that re-maps as the user types, with the engine and semantics of a resync
//! (`ocean_mapping::preview`). For an integration folder whose binary is built, "fetch samples"
//! pulls the first page of a kind from the real API through the integration's own fetcher
//! (`ocean-NAME --sample KIND`, read-only).
//!
//! The page is plain HTML, CSS and JavaScript built into the binary (`assets/`); nothing is
//! loaded from elsewhere. The server answers only requests addressed to its own loopback
//! address (a page of another site cannot use it through DNS rebinding), and JQ's `env`/`$ENV`
//! see the environment only when asked for (`env_access`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ocean_playground::PlaygroundError> {
//! let playground = ocean_playground::serve(ocean_playground::PlaygroundConfig {
//!     folder: Some("integrations/fake".into()),
//!     ..Default::default()
//! })
//! .await?;
//! println!("open {}", playground.url());
//! playground.wait().await?;
//! # Ok(()) }
//! ```

mod folder;
mod http;
pub mod mapping;
mod sample;

pub use folder::Folder;

use ocean_mapping::engine::EngineOptions;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why the playground could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum PlaygroundError {
    /// The given path is not a folder.
    #[error("{0} is not a folder (give an integration folder, e.g. integrations/fake)")]
    NotAFolder(PathBuf),
    /// A file of the integration folder could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving the playground: {0}")]
    Serve(std::io::Error),
    /// Fetching samples failed.
    #[error("fetching samples of {kind}: {message}")]
    Sample {
        /// The kind asked for.
        kind: String,
        /// What went wrong.
        message: String,
    },
}

/// How to start a playground. [`Default`]: no folder, an ephemeral port of 127.0.0.1, no
/// environment access from JQ.
#[derive(Debug, Clone)]
pub struct PlaygroundConfig {
    /// The integration folder (its mapping, examples and binary), if any.
    pub folder: Option<PathBuf>,
    /// The address to listen on.
    pub host: IpAddr,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// The integration binary for "fetch samples" (default: found from the folder's name).
    pub binary: Option<PathBuf>,
    /// Whether JQ's `env` and `$ENV` see this process's environment (Ocean's
    /// `allow_environment_variables_jq_access`); off by default, since the page shows results.
    pub env_access: bool,
}

impl Default for PlaygroundConfig {
    fn default() -> Self {
        PlaygroundConfig {
            folder: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            binary: None,
            env_access: false,
        }
    }
}

/// What the server knows for its lifetime.
pub(crate) struct State {
    pub(crate) folder: Folder,
    pub(crate) binary: Option<PathBuf>,
    pub(crate) options: EngineOptions,
    pub(crate) addr: SocketAddr,
}

/// Reads the folder, binds the address and serves in a background task of the current Tokio
/// runtime until [`RunningPlayground::shutdown`] (or drop).
pub async fn serve(config: PlaygroundConfig) -> Result<RunningPlayground, PlaygroundError> {
    let folder = Folder::read(config.folder.as_deref())?;
    let binary = config.binary.clone().or_else(|| folder.find_binary());
    let options = if config.env_access {
        EngineOptions::with_env(std::env::vars())
    } else {
        EngineOptions {
            allow_env_access: false,
            ..EngineOptions::default()
        }
    };
    let wanted = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .map_err(|source| PlaygroundError::Bind {
            addr: wanted,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| PlaygroundError::Bind {
            addr: wanted,
            source,
        })?;
    let state = Arc::new(State {
        folder,
        binary,
        options,
        addr,
    });
    let router = http::router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningPlayground {
        addr,
        state,
        stop: Some(stop),
        server: Some(server),
    })
}

/// A started playground; dropping it stops the server.
pub struct RunningPlayground {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for RunningPlayground {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningPlayground")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningPlayground {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The integration folder that was read.
    pub fn folder(&self) -> &Folder {
        &self.state.folder
    }

    /// The binary "fetch samples" runs, if one was given or found.
    pub fn sample_binary(&self) -> Option<&std::path::Path> {
        self.state.binary.as_deref()
    }

    /// Serves until the server stops by itself (it does not, short of an I/O failure).
    pub async fn wait(mut self) -> Result<(), PlaygroundError> {
        match self.server.take() {
            Some(server) => match server.await {
                Ok(result) => result.map_err(PlaygroundError::Serve),
                Err(join) => Err(PlaygroundError::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }

    /// Stops serving and waits for open requests to finish.
    pub async fn shutdown(mut self) -> Result<(), PlaygroundError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => match server.await {
                Ok(result) => result.map_err(PlaygroundError::Serve),
                Err(join) => Err(PlaygroundError::Serve(std::io::Error::other(join))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for RunningPlayground {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
