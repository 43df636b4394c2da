//! Capturing what the server logs while a test runs.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// A log sink shared with the test.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

/// Keeps the capture in force on this thread until dropped.
pub struct Capturing {
    _second_dispatcher: tracing::Dispatch,
    _default: DefaultGuard,
}

impl CapturedLogs {
    /// Sends every log line of this thread, at every level, to a new sink. The test's runtime
    /// has one thread, which also runs the server, so the server's logs come here too.
    pub fn start() -> (Self, Capturing) {
        // With a single dispatcher registered, `tracing` caches whether a call site is enabled
        // from whichever thread reaches it first: a statement first run on SQLite's worker thread
        // (which has no subscriber) would then be silenced here too. A second dispatcher makes
        // every event ask the subscriber of its own thread.
        let second_dispatcher =
            tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        let default = tracing::subscriber::set_default(subscriber);
        let capturing = Capturing {
            _second_dispatcher: second_dispatcher,
            _default: default,
        };
        (logs, capturing)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
