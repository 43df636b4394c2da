//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;

use gatekey_core::Clock;
use gatekey_store::SqlStore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::background::{self, flush_usage};
use crate::config::Config;
use crate::state::AppState;

/// A server accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The shared state, for tests that look inside.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened.
    #[error(transparent)]
    Database(#[from] gatekey_store::ConnectError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the database and starts serving on `config.listen`.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    let store = SqlStore::connect(&config.database_url).await?;
    start_with_store(store, config, clock).await
}

/// Starts serving with an already opened store.
pub async fn start_with_store(
    store: SqlStore,
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let mut config = config;
    if config.issuer.is_none() {
        config.issuer = Some(format!("http://{addr}"));
    }
    let state = AppState::new(store, clock, config);
    let app = crate::app::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let task_state = state.clone();
    let task = tokio::spawn(async move {
        let tasks = background::start(&task_state);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        drop(tasks);
        flush_usage(&task_state).await;
        served
    });
    Ok(RunningServer {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}

impl RunningServer {
    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, finishes requests in flight, writes pending usage.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap_or(Ok(()))
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        (&mut self.task).await.unwrap_or(Ok(()))
    }
}
