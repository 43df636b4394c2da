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
//!
//! When the server stops, the connection drains as [`crate::drain`] describes.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Version};
use axum::Router;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::drain::{DrainSignal, Stage, IDLE_GRACE};

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
/// the server's drain (`drain`) ends it.
pub async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    mut drain: DrainSignal,
    limits: ConnectionLimits,
) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let requests = Arc::clone(&activity);
    let stage = drain.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let version = request.version();
        let request = request.map(|body| DeadlineBody::new(body, limits.body_read));
        let in_flight = InFlight::start(Arc::clone(&requests), version);
        let response = router.clone().oneshot(request);
        let stage = stage.clone();
        async move {
            let response = response.await;
            drop(in_flight);
            let mut response = match response {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // HTTP/2 has no such header: its drain is the GOAWAY sent below.
            if *stage.borrow() != Stage::Serving && version < Version::HTTP_2 {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(response)
        }
    });
    let connection = builder.serve_connection(io, service).into_owned();
    tokio::pin!(connection);
    let mut draining_since = None;
    loop {
        let now = Instant::now();
        let check_at = activity.state().deadline(limits, draining_since, now);
        tokio::select! {
            _ = &mut connection => return,
            () = tokio::time::sleep_until(check_at) => {
                if activity.state().expired(limits, draining_since, Instant::now()) {
                    // No request is under way, so nothing is lost: drop the connection.
                    tracing::debug!(%peer, "closing a slow or idle connection");
                    return;
                }
            }
            changed = drain.changed() => match changed.map(|()| *drain.borrow_and_update()) {
                Ok(Stage::Serving) => {}
                Ok(Stage::Draining(since)) => {
                    draining_since = Some(since);
                    if activity.state().http2 {
                        connection.as_mut().graceful_shutdown();
                    }
                }
                Ok(Stage::Cut) | Err(_) => {
                    tracing::debug!(%peer, "closing a connection at the drain deadline");
                    return;
                }
            },
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
    http2: bool,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self(Mutex::new(ActivityState {
            opened: now,
            served_any: false,
            in_flight: 0,
            idle_since: now,
            head_started: None,
            http2: false,
        }))
    }

    fn state(&self) -> MutexGuard<'_, ActivityState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ActivityState {
    /// When the connection must have made progress, or, while a request is under way, when to
    /// look again (no later than any deadline that can follow the request's end). During a
    /// drain (since `draining_since`), a connection waiting for a request has [`IDLE_GRACE`].
    fn deadline(
        &self,
        limits: ConnectionLimits,
        draining_since: Option<Instant>,
        now: Instant,
    ) -> Instant {
        let recheck = match draining_since {
            Some(_) => IDLE_GRACE,
            None => limits.header_read.min(limits.idle),
        };
        if self.in_flight > 0 {
            return now + recheck;
        }
        let usual = match (self.served_any, self.head_started) {
            (false, _) => self.opened + limits.header_read,
            (true, Some(started)) => started + limits.header_read,
            (true, None) => self.idle_since + limits.idle,
        };
        match (draining_since, self.head_started) {
            (Some(since), None) => usual.min(self.idle_since.max(since) + IDLE_GRACE),
            _ => usual,
        }
    }

    fn expired(
        &self,
        limits: ConnectionLimits,
        draining_since: Option<Instant>,
        now: Instant,
    ) -> bool {
        self.in_flight == 0 && now >= self.deadline(limits, draining_since, now)
    }
}

/// A request being handled; its end makes the connection idle.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>, version: Version) -> Self {
        {
            let mut state = activity.state();
            state.http2 |= version == Version::HTTP_2;
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
            activity.state().deadline(LIMITS, None, t0),
            t0 + LIMITS.header_read
        );
        let request = InFlight::start(Arc::clone(&activity), Version::HTTP_11);
        assert!(!activity
            .state()
            .expired(LIMITS, None, t0 + Duration::from_secs(3600)));
        drop(request);
        let idle_since = activity.state().idle_since;
        assert_eq!(
            activity.state().deadline(LIMITS, None, t0),
            idle_since + LIMITS.idle
        );
        let started = idle_since + Duration::from_secs(5);
        activity.state().head_started = Some(started);
        assert_eq!(
            activity.state().deadline(LIMITS, None, t0),
            started + LIMITS.header_read
        );
        assert!(activity
            .state()
            .expired(LIMITS, None, started + LIMITS.header_read));
    }

    #[test]
    fn a_drain_gives_a_waiting_connection_a_short_grace_and_a_started_head_its_time() {
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(t0));
        drop(InFlight::start(Arc::clone(&activity), Version::HTTP_11));
        let idle_since = activity.state().idle_since;
        let drain = idle_since + Duration::from_secs(20);
        assert_eq!(
            activity.state().deadline(LIMITS, Some(drain), drain),
            drain + IDLE_GRACE,
            "idle before the drain: the grace counts from the drain"
        );
        let early = idle_since - Duration::from_secs(1);
        assert_eq!(
            activity.state().deadline(LIMITS, Some(early), early),
            idle_since + IDLE_GRACE,
            "idle since the drain began: the grace counts from then"
        );
        let started = drain + Duration::from_millis(100);
        activity.state().head_started = Some(started);
        assert_eq!(
            activity.state().deadline(LIMITS, Some(drain), started),
            started + LIMITS.header_read,
            "a head under way may finish"
        );
    }
}
