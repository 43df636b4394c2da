//! One accepted TCP connection, served by hyper (HTTP/1.1 or HTTP/2) and closed when it abuses
//! the server's patience: a request head must arrive completely within the header-read timeout
//! (counted from the connection's opening, or from the first byte of a later request), and a
//! kept-alive connection with no request under way is closed after the idle timeout, and a
//! request body must arrive completely within the body-read timeout of its head (past it,
//! reading the body fails, the request is answered with an error and the connection, its body
//! unread, is closed). A slow client therefore holds a connection for a bounded time, whatever
//! it sends.
//!
//! hyper's own `header_read_timeout` starts when the connection becomes ready for the next
//! request, so on a kept-alive connection it would also cut the idle time; the two limits are
//! kept apart here by watching the bytes read and the requests in flight. On HTTP/2 any frame
//! received while no stream is open (a PING, say) starts the header-read clock, so an HTTP/2
//! connection that sends only pings is closed after the header-read timeout.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::ServiceExt;

/// How long a connection may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a whole request head.
    pub header_read: Duration,
    /// Time a kept-alive connection may wait, with nothing sent, for its next request.
    pub idle: Duration,
    /// Time to send a whole request body, from the end of its head.
    pub body_read: Duration,
}

/// The HTTP builder every connection shares.
pub fn http_builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // The limits are enforced by [`serve_connection`]; hyper's own timer would mix them up.
    builder.http1().header_read_timeout(None);
    builder
}

/// Serves `stream` from `peer` with `router` until the client closes it, a limit is passed, or
/// the server shuts down (through `watcher`).
pub async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    watcher: Watcher,
    limits: ConnectionLimits,
) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let request = request.map(|body| DeadlineBody::new(body, limits.body_read));
        let in_flight = InFlight::start(Arc::clone(&requests));
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await;
            drop(in_flight);
            Ok::<_, Infallible>(match response {
                Ok(response) => response,
                Err(never) => match never {},
            })
        }
    });
    let connection = watcher.watch(builder.serve_connection(io, service).into_owned());
    tokio::pin!(connection);
    loop {
        let now = Instant::now();
        let check_at = activity.state().deadline(limits, now);
        tokio::select! {
            _ = &mut connection => return,
            () = tokio::time::sleep_until(check_at) => {
                if activity.state().expired(limits, Instant::now()) {
                    // No request is under way, so nothing is lost: drop the connection.
                    tracing::debug!(%peer, "closing a slow or idle connection");
                    return;
                }
            }
        }
    }
}

/// A request body that fails once its deadline has passed before it was read completely.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// The error a body gives past its deadline.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body was not sent in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl DeadlineBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What the watchdog knows about a connection.
#[derive(Debug)]
struct Activity(Mutex<ActivityState>);

#[derive(Debug)]
struct ActivityState {
    opened: Instant,
    served_any: bool,
    in_flight: usize,
    idle_since: Instant,
    head_started: Option<Instant>,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self(Mutex::new(ActivityState {
            opened: now,
            served_any: false,
            in_flight: 0,
            idle_since: now,
            head_started: None,
        }))
    }

    fn state(&self) -> MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ActivityState {
    /// When the connection must have made progress, or, while a request is under way, when to
    /// look again (no later than any deadline that can follow the request's end).
    fn deadline(&self, limits: ConnectionLimits, now: Instant) -> Instant {
        if self.in_flight > 0 {
            return now + limits.header_read.min(limits.idle);
        }
        if !self.served_any {
            return self.opened + limits.header_read;
        }
        match self.head_started {
            Some(started) => started + limits.header_read,
            None => self.idle_since + limits.idle,
        }
    }

    fn expired(&self, limits: ConnectionLimits, now: Instant) -> bool {
        self.in_flight == 0 && now >= self.deadline(limits, now)
    }
}

/// A request being handled; its end makes the connection idle.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        {
            let mut state = activity.state();
            state.in_flight += 1;
            state.served_any = true;
            state.head_started = None;
        }
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_started = None;
        }
    }
}

/// The TCP stream, noting when bytes of a new request head arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let mut state = self.activity.state();
            if state.in_flight == 0 && state.head_started.is_none() {
                state.head_started = Some(Instant::now());
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        body_read: Duration::from_secs(30),
    };

    #[test]
    fn each_phase_has_its_deadline() {
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(t0));
        assert_eq!(
            activity.state().deadline(LIMITS, t0),
            t0 + LIMITS.header_read
        );
        let request = InFlight::start(Arc::clone(&activity));
        assert!(!activity
            .state()
            .expired(LIMITS, t0 + Duration::from_secs(3600)));
        drop(request);
        let idle_since = activity.state().idle_since;
        assert_eq!(
            activity.state().deadline(LIMITS, t0),
            idle_since + LIMITS.idle
        );
        let started = idle_since + Duration::from_secs(5);
        activity.state().head_started = Some(started);
        assert_eq!(
            activity.state().deadline(LIMITS, t0),
            started + LIMITS.header_read
        );
        assert!(activity
            .state()
            .expired(LIMITS, started + LIMITS.header_read));
    }
}
