//! What a request may cost before a handler sees it: a declared body over
//! the limit is refused before a byte of it is read (413), and a body that
//! arrives too slowly, whether by long silences or by a trickle, is cut
//! (408) and its connection closed, so a client cannot hold a connection
//! (a file descriptor) by promising a body and never sending it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::app::AppError;
use crate::state::AppState;

/// Applies the body limit and the body timeouts to every request.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = super::body_limit(&state);
    if declared_length(request.headers()).is_some_and(|length| length > limit) {
        return closing(super::body_too_large(limit).into_response());
    }
    let late = Arc::new(AtomicBool::new(false));
    let timing = BodyTiming {
        idle: state.config.body_idle_timeout(),
        deadline: Instant::now() + state.config.request_timeout(),
    };
    let request = request.map(|body| timed(body, timing, late.clone()));
    let response = next.run(request).await;
    if late.load(Ordering::Relaxed) {
        let refusal = AppError::BadRequest("the request body did not arrive in time".into());
        let mut response = refusal.into_response();
        *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
        return closing(response);
    }
    response
}

/// The `Content-Length` a request declares; unreadable ones are left to hyper.
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The connection ends after this response: what remains of the body is
/// not worth reading.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

#[derive(Debug, Clone, Copy)]
struct BodyTiming {
    /// The longest wait for the next piece of the body.
    idle: Duration,
    /// When the whole body must have arrived.
    deadline: Instant,
}

/// `body`, failing once it is late; `late` tells the guard why it failed.
fn timed(body: Body, timing: BodyTiming, late: Arc<AtomicBool>) -> Body {
    let timer = Box::pin(tokio::time::sleep_until(next_wake(timing)));
    Body::from_stream(TimedBody {
        inner: body.into_data_stream(),
        timing,
        timer,
        late,
    })
}

fn next_wake(timing: BodyTiming) -> Instant {
    (Instant::now() + timing.idle).min(timing.deadline)
}

struct TimedBody<S> {
    inner: S,
    timing: BodyTiming,
    timer: Pin<Box<Sleep>>,
    late: Arc<AtomicBool>,
}

impl<S> Stream for TimedBody<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            let wake = next_wake(self.timing);
            self.timer.as_mut().reset(wake);
            return Poll::Ready(item);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.late.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        Poll::Pending
    }
}
