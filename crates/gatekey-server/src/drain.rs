//! Draining a listener's connections when the server stops, within a deadline.
//!
//! A drain must neither lose a request nor hang. So, once it starts:
//!
//! - every HTTP/1 response carries `Connection: close`, and the connection is closed after it:
//!   the client knows not to send another request on it;
//! - a connection with a request under way, or with part of a request head received, is left to
//!   finish it (the connection's own timeouts still apply);
//! - a kept-alive connection with nothing under way gets [`IDLE_GRACE`] to bring one more
//!   request, which a client that was about to reuse it may already have sent; then it is closed;
//! - HTTP/2 connections are told to go away (`GOAWAY`), which tells the client which streams
//!   were served.
//!
//! Whatever is still open at the deadline is closed without more ado.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long a kept-alive connection with nothing under way may stay open during a drain,
/// counted from when it became idle or from the start of the drain, whichever is later.
pub const IDLE_GRACE: Duration = Duration::from_millis(500);

/// How long the connections cut at the deadline have to notice it.
const CUT_GRACE: Duration = Duration::from_secs(1);

/// Where the server is in its life, as each connection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Serving as usual.
    Serving,
    /// Draining since the instant given: finish what is under way, keep nothing alive.
    Draining(Instant),
    /// Past the drain deadline: close now.
    Cut,
}

/// The listener's side: starts the drain and waits for the connections to end.
#[derive(Debug)]
pub struct Drain {
    stage: watch::Sender<Stage>,
}

/// A connection's side: which stage the server is in. Each connection holds one until it ends,
/// which is how [`Drain::run`] knows that every connection has ended.
pub type DrainSignal = watch::Receiver<Stage>;

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    /// A server serving as usual.
    pub fn new() -> Self {
        Self {
            stage: watch::Sender::new(Stage::Serving),
        }
    }

    /// The signal for a new connection.
    pub fn signal(&self) -> DrainSignal {
        self.stage.subscribe()
    }

    /// Drains every connection until `deadline`, then closes those still open. Returns how
    /// many were closed at the deadline.
    pub async fn run(self, deadline: Instant) -> usize {
        self.stage.send_replace(Stage::Draining(Instant::now()));
        if tokio::time::timeout_at(deadline, self.stage.closed())
            .await
            .is_ok()
        {
            return 0;
        }
        let open = self.stage.receiver_count();
        self.stage.send_replace(Stage::Cut);
        let _ = tokio::time::timeout(CUT_GRACE, self.stage.closed()).await;
        open
    }
}
