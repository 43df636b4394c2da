//! A TCP proxy between a server under test and its PostgreSQL, which the test can cut and
//! restore: an outage, or a partition of one replica, on demand.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A proxy to one database server, serving on a port of its own.
pub struct DatabaseProxy {
    addr: SocketAddr,
    upstream: String,
    /// Bumped by each cut: a forwarding task ends when the generation it started in is over.
    generation: watch::Sender<u64>,
    accepting: Mutex<Option<JoinHandle<()>>>,
}

impl DatabaseProxy {
    /// Starts a proxy to the server of `database_url` (`postgres://…@host:port/…`).
    pub async fn start(database_url: &str) -> Arc<Self> {
        let upstream = authority(database_url).to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let proxy = Arc::new(Self {
            addr: listener.local_addr().expect("its address"),
            upstream,
            generation: watch::Sender::new(0),
            accepting: Mutex::new(None),
        });
        proxy.accept_on(listener);
        proxy
    }

    /// `database_url` with its server replaced by this proxy.
    pub fn route(&self, database_url: &str) -> String {
        database_url.replacen(authority(database_url), &self.addr.to_string(), 1)
    }

    /// Cuts every connection and refuses new ones, as a database that went away.
    pub fn cut(&self) {
        if let Some(accepting) = self.slot().take() {
            accepting.abort();
        }
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Accepts connections again on the same port.
    pub async fn restore(self: &Arc<Self>) {
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                // The aborted listener may take a moment to let go of the port.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        };
        self.accept_on(listener);
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn accept_on(self: &Arc<Self>, listener: TcpListener) {
        let proxy = Arc::clone(self);
        *self.slot() = Some(tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(Arc::clone(&proxy).forward(client));
            }
        }));
    }

    /// Copies bytes both ways until either side closes or the proxy is cut.
    async fn forward(self: Arc<Self>, mut client: TcpStream) {
        let mut cuts = self.generation.subscribe();
        let Ok(mut server) = TcpStream::connect(&self.upstream).await else {
            return;
        };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
            _ = cuts.changed() => {}
        }
    }
}

/// The `host:port` of a database URL.
fn authority(database_url: &str) -> &str {
    let after_scheme = database_url
        .split_once("://")
        .map_or(database_url, |(_, rest)| rest);
    let after_user = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, rest)| rest);
    after_user.split(['/', '?']).next().unwrap_or(after_user)
}
