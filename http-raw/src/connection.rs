//! The connection loop: one TCP connection, many requests, from accept to close.
//!
//! What to notice, in the order things happen on a connection:
//!
//! 0. **Wait for the client's bytes holding no buffer** (`wait_for_request`):
//!    between requests a connection is a socket, a timer and a small future,
//!    about 1.9 KiB in all; buffers are taken when a request arrives (the
//!    thread's spares first: `spare_buffers.rs`).
//! 1. **Read until a whole head is in the buffer** (`read_head`). Each read
//!    appends to one buffer and we try the parser again; bytes after the head
//!    stay there for later.
//! 2. **Ask the application how much body it accepts** (`body_limit`), and
//!    refuse a larger one with 413 before reading any of it.
//! 3. **Read the body** the head announced (`read_body`): so many bytes, or
//!    chunks until the last one. If the client sent `Expect: 100-continue`
//!    it waits for our `100 Continue` before sending the body.
//! 4. **Call the application** with the `Request`, get a `Response`.
//! 5. **Write the response** into the write buffer. It goes out on the socket
//!    when there is nothing else to do right now: so the responses to a batch
//!    of pipelined requests leave in one `write`.
//! 6. **Keep the connection or close it**: HTTP/1.1 keeps it unless either
//!    side said `Connection: close`; HTTP/1.0 closes it unless the client
//!    asked for keep-alive. Then back to 1, with a shorter timeout.
//!
//! Every read is bounded by the connection's `Deadline`, and every write by
//! a timeout of its own (see `write_all`); waiting for a new request also
//! ends when the server shuts down. Errors in the request get their status
//! code (in a response the application may reshape) and close the
//! connection; I/O errors just close it.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::future::Either;
use tcp_echo::accept_loop::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tracing::{debug, info, trace, warn};

use crate::body::ChunkedDecoder;
use crate::config::HttpConfig;
use crate::deadline::Deadline;
use crate::error::HttpError;
use crate::handshake::{Handshakes, accept_tls};
use crate::limits::{
    COALESCE_BODY_UNDER, INITIAL_READ_BUFFER, INITIAL_WRITE_BUFFER, LINGER_BYTES, LINGER_TIME,
    MAX_WRITE_BATCH, MIN_READ_ROOM,
};
use crate::parse::{Framing, ParsedHead, parse_head};
use crate::request::{Method, Request, Version, has_token};
use crate::response::{Body, ChunkStream, Response, Upgraded};
use crate::service::{Service, refusal_response};
use crate::spare_buffers;
use crate::stream::Stream;
use crate::summary::{ConnectionSummary, End};
use crate::write::{ConnectionHeader, LAST_CHUNK, ResponseFraming, write_chunk_header, write_head};

/// The timeouts a connection needs, copied out of `HttpConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    header: Duration,
    keep_alive: Duration,
    body: Duration,
}

impl From<&HttpConfig> for Timeouts {
    fn from(config: &HttpConfig) -> Timeouts {
        Timeouts {
            header: config.header_timeout,
            keep_alive: config.keep_alive,
            body: config.body_timeout,
        }
    }
}

/// Why reading a request stopped short.
enum ReadError {
    /// The request is bad: answer with its status. The request's head, when
    /// it was parsed, lets the application shape that answer.
    Http(HttpError, Option<Request>),
    /// The connection ended: nothing to answer.
    End(End),
}

impl From<HttpError> for ReadError {
    fn from(error: HttpError) -> ReadError {
        ReadError::Http(error, None)
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> ReadError {
        ReadError::End(End::Failed(error))
    }
}

/// What to do after a request.
enum Next {
    /// Read the next request.
    Request,
    /// The connection is over (and closed).
    End(End),
    /// Send this `101` response and hand the connection over.
    Upgrade(Response),
}

/// One HTTP connection's state.
struct HttpConnection {
    /// Plain TCP, or TLS over TCP: the code below cannot tell them apart.
    stream: Stream,
    peer: SocketAddr,
    /// Bytes received and not yet parsed: part of a head, a body, or the
    /// next pipelined requests.
    read_buf: BytesMut,
    /// Responses waiting to be written.
    write_buf: Vec<u8>,
    /// Ends every wait for the client's bytes (see `deadline.rs`); writes
    /// have their own (`write_all`).
    deadline: Deadline,
    timeouts: Timeouts,
    /// Cancelled when the server starts shutting down.
    stopping: CancellationToken,
    /// Completes once `stopping` is cancelled: what the waits for the
    /// client `select!` on. Made once per connection and kept: a new
    /// `stopping.cancelled()` in every wait would register with the token
    /// and unregister again on every request, which measured about 3% of
    /// a keep-alive request's instructions. (Boxed, because a wait needs it
    /// pinned; 72 bytes.)
    stopped: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Requests answered so far.
    requests: u64,
}

/// Serves HTTP on one accepted connection until it ends; over HTTPS (`tls`
/// given), after the TLS handshake.
pub fn serve_connection<S: Service>(
    connection: Connection,
    service: Arc<S>,
    timeouts: Timeouts,
    tls: Option<Arc<Handshakes>>,
) -> impl Future<Output = ConnectionSummary> {
    let Connection {
        stream,
        peer,
        id,
        stopping,
    } = connection;
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "cannot set TCP_NODELAY");
    }
    // ANCHOR: tls_or_plain
    // The first request's head must be complete this soon after accept;
    // over HTTPS, the TLS handshake before it too.
    let head_deadline = Instant::now() + timeouts.header;
    let Some(handshakes) = tls else {
        let connection = HttpConnection::new(
            Stream::Plain(stream),
            peer,
            head_deadline,
            timeouts,
            stopping,
        );
        return Either::Left(connection.run(service));
    };
    // HTTPS: handshake first, then the very same loop. Boxed, both: inline,
    // the handshake's state (over a kilobyte) would make every connection's
    // future larger, plain ones too, and for the connection's whole life.
    Either::Right(Box::pin(async move {
        match Box::pin(accept_tls(stream, id, &handshakes, head_deadline)).await {
            Ok(stream) => {
                let connection =
                    HttpConnection::new(stream, peer, head_deadline, timeouts, stopping);
                connection.run(service).await
            }
            Err(error) => {
                debug!(reason = %error, "closing");
                let end = End::Handshake(error);
                ConnectionSummary { requests: 0, end }
            }
        }
    }))
    // ANCHOR_END: tls_or_plain
}

impl HttpConnection {
    /// A connection that has not read anything yet.
    fn new(
        stream: Stream,
        peer: SocketAddr,
        head_deadline: Instant,
        timeouts: Timeouts,
        stopping: CancellationToken,
    ) -> HttpConnection {
        HttpConnection {
            stream,
            peer,
            // No buffers until the client sends something (see `wait_for_request`).
            read_buf: BytesMut::new(),
            write_buf: Vec::new(),
            deadline: Deadline::new(head_deadline),
            timeouts,
            stopped: Box::pin(stopping.clone().cancelled_owned()),
            stopping,
            requests: 0,
        }
    }
}

impl HttpConnection {
    // ANCHOR: run
    /// Requests, one after another, until the connection ends.
    ///
    /// This loop is all an idle connection costs, so it is kept small: the
    /// work of requests (parsing, the application's future, writing) is a
    /// larger future (`serve_requests`), boxed while it runs and freed
    /// after. It is an `async move` block that uses the connection in place:
    /// an `async fn` would store its arguments twice, once as given and once
    /// as locals. Measured with `size_of_val`: 408 bytes, against 2,120 when
    /// this loop also held the request's work.
    fn run<S: Service>(self, service: Arc<S>) -> impl Future<Output = ConnectionSummary> {
        let mut connection = self;
        async move {
            let end = loop {
                // Each arm makes its boxed future and the `.await` comes
                // after the `match`: awaited inside an arm, the matched
                // `Result` would stay alive across the await, and make this
                // idle future 184 bytes larger.
                let serving = match connection.wait_for_request().await {
                    Ok(()) => Either::Left(Box::pin(connection.serve_requests(&*service))),
                    // A 408 before a first request, or the end of the
                    // connection: boxed too, it happens once.
                    Err(error) => Either::Right(Box::pin(connection.end_with(&*service, error))),
                };
                match serving.await {
                    Next::Request => continue,
                    Next::End(end) => break end,
                    Next::Upgrade(response) => {
                        let requests = connection.requests;
                        let upgrading = Box::pin(connection.upgrade(response));
                        let end = upgrading.await;
                        debug!(reason = %end, "closing");
                        return ConnectionSummary { requests, end };
                    }
                }
            };
            debug!(reason = %end, "closing");
            // For the next connection to take (a new one, under
            // `Connection: close` or HTTPS handshake after handshake).
            spare_buffers::give_back(connection.take_buffers());
            ConnectionSummary {
                requests: connection.requests,
                end,
            }
        }
    }

    /// After a wait: serves the request that has begun and every pipelined
    /// one already behind it (one boxed future for the whole batch); then
    /// says what comes next.
    async fn serve_requests<S: Service>(&mut self, service: &S) -> Next {
        let error = loop {
            match self.serve_one(service).await {
                // The next request is already here (pipelined).
                Ok(Next::Request) if !self.read_buf.is_empty() => {}
                Ok(next) => return next,
                Err(error) => break error,
            }
        };
        // Outside the loop (`break error`, not an await in the `match`,
        // as in `run`) and boxed: a refusal ends the connection, so it
        // happens once, and inline its future would make every request's
        // larger (this future was 2,144 bytes, now 1,432).
        Box::pin(self.end_with(service, error)).await
    }

    /// Ends the connection after `error`: a bad request gets its status (in
    /// a response the application may reshape) before the close; a
    /// connection that simply ended gets nothing.
    async fn end_with<S: Service>(&mut self, service: &S, error: ReadError) -> Next {
        match error {
            ReadError::End(end) => Next::End(end),
            ReadError::Http(error, request) => {
                self.refuse(service, &error, request.as_ref()).await;
                Next::End(End::Refused(error))
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: serve_one
    /// One request, start to end: read it, run the application, write the
    /// response (into the write buffer), then keep the connection or close it.
    async fn serve_one<S: Service>(&mut self, service: &S) -> Result<Next, ReadError> {
        let (request, close_requested) = self.read_request(service).await?;
        let log = RequestLog::start(&request);
        let (method, version) = (request.method(), request.version());

        let response = self.handle(pin!(service.call(request))).await?;
        debug!(status = response.status(), "handler done");
        self.requests += 1;
        if response.is_upgrade() && response.status() == 101 {
            return Ok(Next::Upgrade(response));
        }

        let close = self.keep_or_close(close_requested, &response);
        let status = response.status();
        let sent = self
            .write_response(response, method, version, close)
            .await?;
        if let Some(log) = log {
            log.finish(status, sent);
        }
        if close {
            self.close_gracefully().await;
            return Ok(Next::End(
                if self.stopping.is_cancelled() && !close_requested {
                    End::Shutdown
                } else {
                    End::ConnectionClose
                },
            ));
        }
        debug!("keeping the connection alive");
        // With no pipelined request waiting, the client waits for us: send
        // now (and so the idle wait that follows has nothing to write).
        if self.read_buf.is_empty() || self.write_buf.len() >= MAX_WRITE_BATCH {
            self.flush().await?;
        }
        Ok(Next::Request)
    }
    // ANCHOR_END: serve_one

    /// Reads a request's head, asks the application how much body it takes,
    /// and reads that body. Also says whether the client asked to close
    /// the connection after this request.
    async fn read_request<S: Service>(
        &mut self,
        service: &S,
    ) -> Result<(Request, bool), ReadError> {
        let head = self.read_head().await?;
        let head_bytes = self
            .read_buf
            .split_to(head.skip + head.len)
            .freeze()
            .slice(head.skip..);
        trace!(head = %head_bytes.escape_ascii(), "raw head");
        debug!(bytes = head_bytes.len(), framing = ?head.framing, "head parsed");

        let close_requested = match head.version {
            Version::Http11 => head.connection_close,
            Version::Http10 => head.connection_close || !head.connection_keep_alive,
        };
        let expect_continue = head.expect_continue && head.version == Version::Http11;
        let framing = head.framing.clone();
        let mut request = head.into_request(head_bytes, Bytes::new(), Some(self.peer));
        let body = match framing {
            Ok(framing) => {
                self.read_body(service, &request, framing, expect_continue)
                    .await
            }
            Err(error) => Err(error.into()),
        };
        match body {
            Ok(body) => request.body = body,
            // A refusal from here on comes with the head, for the application.
            Err(ReadError::Http(error, _)) => return Err(ReadError::Http(error, Some(request))),
            Err(end) => return Err(end),
        }
        Ok((request, close_requested))
    }

    // ANCHOR: keep_or_close
    /// Whether this response is the connection's last: the client asked
    /// (`Connection: close`, or HTTP/1.0 without keep-alive), the
    /// application said so in its response, or the server is shutting down.
    fn keep_or_close(&self, close_requested: bool, response: &Response) -> bool {
        close_requested
            || self.stopping.is_cancelled()
            || response
                .header("connection")
                .is_some_and(|value| has_token(value.as_bytes(), "close"))
    }
    // ANCHOR_END: keep_or_close

    // ANCHOR: write_response
    /// Writes the response's head into the write buffer, then its body
    /// (none for HEAD); returns the body's length.
    async fn write_response(
        &mut self,
        mut response: Response,
        method: Method,
        version: Version,
        close: bool,
    ) -> Result<u64, ReadError> {
        let connection_header = match (close, version) {
            (true, _) => ConnectionHeader::Close,
            (false, Version::Http10) => ConnectionHeader::KeepAlive,
            (false, Version::Http11) => ConnectionHeader::None,
        };
        let framing = ResponseFraming::of(&response);
        // One allocation for a typical response, not a doubling from zero.
        self.write_buf.reserve(INITIAL_WRITE_BUFFER);
        write_head(&mut self.write_buf, &response, framing, connection_header);
        if method == Method::Head || framing == ResponseFraming::NoBody {
            return Ok(0);
        }
        self.write_body(response.take_body(), framing).await
    }
    // ANCHOR_END: write_response

    // ANCHOR: wait_for_request
    /// Between requests: waits for the client's next bytes holding no
    /// buffer at all (`serve_one` has sent every response already). An idle keep-alive connection
    /// costs its socket, this small future and its timer; the buffers are
    /// taken only once there is something to read (which is how nginx holds
    /// ten thousand idle connections in a few megabytes). Pipelined bytes
    /// already in the buffer need no wait. The wait may also end the
    /// connection: the keep-alive time ran out (or, before a first request,
    /// the header timeout), or the server is stopping.
    async fn wait_for_request(&mut self) -> Result<(), ReadError> {
        if !self.read_buf.is_empty() {
            return Ok(());
        }
        // The buffers go to this thread's spares, and come back from them
        // (ours or another connection's) once there is something to read:
        // cheaper than freeing and allocating them each time (see
        // `spare_buffers.rs`).
        spare_buffers::give_back(self.take_buffers());
        let first = self.requests == 0;
        if !first {
            self.deadline.set(Instant::now() + self.timeouts.keep_alive);
        }
        // `poll_read_ready` rather than `readable()`: the same wait, without
        // the 150-byte future that every idle connection would carry. Over
        // TLS, see `Stream::poll_read_ready`.
        let readable = poll_fn(|context| self.stream.poll_read_ready(context));
        tokio::select! {
            biased;
            ready = readable => ready?,
            _ = self.deadline.expired() => return Err(if first {
                HttpError::RequestTimeout.into()
            } else {
                ReadError::End(End::IdleTimeout)
            }),
            _ = &mut self.stopped => return Err(ReadError::End(End::Shutdown)),
        }
        (self.read_buf, self.write_buf) = spare_buffers::take();
        Ok(())
    }
    // ANCHOR_END: wait_for_request

    /// The connection's buffers, leaving it none.
    fn take_buffers(&mut self) -> (BytesMut, Vec<u8>) {
        (
            std::mem::take(&mut self.read_buf),
            std::mem::take(&mut self.write_buf),
        )
    }

    // ANCHOR: read_head
    /// Reads until the buffer holds a complete head, and parses it.
    /// Between requests, the connection may also just end: the client
    /// closed it, the keep-alive time ran out, or the server is stopping.
    async fn read_head(&mut self) -> Result<ParsedHead, ReadError> {
        let between_requests = self.read_buf.is_empty() && self.requests > 0;
        let mut head_deadline_set = self.requests == 0;
        loop {
            if !self.read_buf.is_empty() {
                if let Some(head) = parse_head(&self.read_buf)? {
                    return Ok(head);
                }
                // A head has started but is not complete: from now on the
                // header timeout applies (usually the first read has it all,
                // and we never get here).
                if !head_deadline_set {
                    self.deadline.set(Instant::now() + self.timeouts.header);
                    head_deadline_set = true;
                }
            }
            // About to wait for the client: first send what it is waiting for.
            self.flush().await?;
            if self.read_buf.capacity() - self.read_buf.len() < MIN_READ_ROOM {
                self.read_buf.reserve(INITIAL_READ_BUFFER);
            }
            let idle = self.read_buf.is_empty();
            let read = tokio::select! {
                biased;
                read = self.stream.read_buf(&mut self.read_buf) => read,
                _ = self.deadline.expired() => {
                    return Err(if idle && between_requests {
                        ReadError::End(End::IdleTimeout)
                    } else {
                        HttpError::RequestTimeout.into()
                    });
                }
                // Only between requests: a request that has started may finish.
                _ = &mut self.stopped, if idle => {
                    return Err(ReadError::End(End::Shutdown));
                }
            };
            match read? {
                0 if self.read_buf.is_empty() => return Err(ReadError::End(End::ClientClosed)),
                0 => return Err(ReadError::End(End::ClientGoneMidRequest)),
                n => trace!(bytes = n, "read"),
            }
        }
    }
    // ANCHOR_END: read_head

    // ANCHOR: read_body
    /// Reads the body that `request`'s head announced, if the application
    /// accepts that much; refuses it with 413 before reading it otherwise.
    async fn read_body<S: Service>(
        &mut self,
        service: &S,
        request: &Request,
        framing: Framing,
        expect_continue: bool,
    ) -> Result<Bytes, ReadError> {
        if framing == Framing::None {
            return Ok(Bytes::new());
        }
        let limit = service.body_limit(request);
        let needs_more = match framing {
            Framing::None => return Ok(Bytes::new()),
            Framing::Length(length) if length > limit as u64 => {
                return Err(HttpError::ContentTooLarge { limit }.into());
            }
            // Fits in usize: it is at most `limit`.
            Framing::Length(length) => self.read_buf.len() < length as usize,
            Framing::Chunked => true,
        };
        if expect_continue && needs_more {
            // The client waits for this before sending the body (RFC 9110
            // section 10.1.1). Earlier pipelined responses go first.
            debug!("sending 100 Continue");
            self.write_buf
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            self.flush().await?;
        }
        // One deadline for the whole body, not one per read: a client that
        // sends a byte a second would otherwise hold the connection forever.
        self.deadline.set(Instant::now() + self.timeouts.body);
        match framing {
            Framing::None => Ok(Bytes::new()),
            Framing::Length(length) => {
                let length = length as usize;
                self.read_buf
                    .reserve(length.saturating_sub(self.read_buf.len()));
                while self.read_buf.len() < length {
                    self.read_more_body().await?;
                }
                let body = self.read_buf.split_to(length).freeze();
                debug!(bytes = body.len(), "body read");
                Ok(body)
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new(limit);
                let mut body = BytesMut::new();
                while !decoder.decode(&mut self.read_buf, &mut body)? {
                    self.read_more_body().await?;
                }
                debug!(bytes = body.len(), "chunked body read");
                Ok(body.freeze())
            }
        }
    }
    // ANCHOR_END: read_body

    /// One read of body bytes, before the body's deadline.
    async fn read_more_body(&mut self) -> Result<(), ReadError> {
        if self.read_buf.capacity() == self.read_buf.len() {
            self.read_buf.reserve(INITIAL_READ_BUFFER);
        }
        let read = tokio::select! {
            biased;
            read = self.stream.read_buf(&mut self.read_buf) => read?,
            _ = self.deadline.expired() => return Err(HttpError::RequestTimeout.into()),
        };
        if read == 0 {
            return Err(ReadError::End(End::ClientGoneMidRequest));
        }
        Ok(())
    }

    /// Runs the application. If it cannot answer at once (it waits on a
    /// timer, a database, ...), the responses already queued are sent first,
    /// so earlier pipelined requests are not held back by a slow later one.
    ///
    /// It takes the application's future pinned by the caller, by
    /// reference: given the request, or the future by value, an `async fn`
    /// would hold it twice (as its argument and as a local), and the
    /// future of every request would be larger by that much.
    async fn handle(
        &mut self,
        mut handling: Pin<&mut impl Future<Output = Response>>,
    ) -> Result<Response, ReadError> {
        match poll_fn(|context| Poll::Ready(handling.as_mut().poll(context))).await {
            Poll::Ready(response) => Ok(response),
            Poll::Pending => {
                self.flush().await?;
                Ok(handling.await)
            }
        }
    }

    /// Queues or writes a response body; returns its length.
    async fn write_body(&mut self, body: Body, framing: ResponseFraming) -> Result<u64, ReadError> {
        match body {
            Body::Empty => Ok(0),
            Body::Full(bytes) if bytes.len() < COALESCE_BODY_UNDER => {
                self.write_buf.extend_from_slice(&bytes);
                Ok(bytes.len() as u64)
            }
            Body::Full(bytes) => {
                self.flush().await?;
                self.write_all(&bytes).await?;
                Ok(bytes.len() as u64)
            }
            Body::Stream { chunks, .. } => {
                self.flush().await?;
                self.write_stream(chunks, framing).await
            }
        }
    }

    /// Writes a streamed body as it is produced: as-is when its length was
    /// announced, else as chunks. Only one piece is in memory at a time.
    async fn write_stream(
        &mut self,
        mut chunks: ChunkStream,
        framing: ResponseFraming,
    ) -> Result<u64, ReadError> {
        let mut sent = 0u64;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| {
                warn!(%error, "response body failed midway; closing the connection");
                ReadError::End(End::Failed(error))
            })?;
            if chunk.is_empty() {
                continue;
            }
            sent += chunk.len() as u64;
            match framing {
                ResponseFraming::Length(length) if sent > length => {
                    warn!(
                        length,
                        "response body longer than its Content-Length; closing the connection"
                    );
                    return Err(ReadError::End(End::Failed(
                        io::ErrorKind::InvalidData.into(),
                    )));
                }
                ResponseFraming::Chunked => {
                    write_chunk_header(&mut self.write_buf, chunk.len());
                    self.flush().await?;
                    self.write_all(&chunk).await?;
                    self.write_buf.extend_from_slice(b"\r\n");
                }
                _ => self.write_all(&chunk).await?,
            }
        }
        match framing {
            ResponseFraming::Chunked => self.write_buf.extend_from_slice(LAST_CHUNK),
            ResponseFraming::Length(length) if sent != length => {
                warn!(
                    length,
                    sent, "response body shorter than its Content-Length; closing the connection"
                );
                return Err(ReadError::End(End::Failed(
                    io::ErrorKind::UnexpectedEof.into(),
                )));
            }
            _ => {}
        }
        Ok(sent)
    }

    /// Sends `101 Switching Protocols` and hands the stream to the upgrade.
    async fn upgrade(mut self, mut response: Response) -> End {
        write_head(
            &mut self.write_buf,
            &response,
            ResponseFraming::NoBody,
            ConnectionHeader::None,
        );
        if let Err(error) = self.flush().await {
            return End::Failed(error);
        }
        let Some(on_upgrade) = response.on_upgrade.take() else {
            return End::ConnectionClose;
        };
        // The 101's headers are sent: free them before the new protocol runs,
        // which may be for hours.
        drop(response);
        debug!("upgraded: handing the connection over");
        on_upgrade(self.into_upgraded()).await;
        End::Upgraded
    }

    /// The connection for the new protocol. Everything HTTP needed (the read
    /// buffer, the write buffer, the timers) is freed here, not kept for as
    /// long as the upgraded connection lives; only the few bytes the client
    /// sent after its request are copied over.
    fn into_upgraded(self) -> Upgraded {
        Upgraded {
            stream: self.stream,
            read_ahead: Bytes::copy_from_slice(&self.read_buf),
            peer: self.peer,
            stopping: self.stopping,
        }
    }

    /// Sends the error response (as the application shaped it) and closes
    /// the connection.
    async fn refuse<S: Service>(
        &mut self,
        service: &S,
        error: &HttpError,
        request: Option<&Request>,
    ) {
        let status = error.status();
        debug!(status, %error, "refusing the request");
        let mut response = refusal_response(service, error, request, &self.read_buf);
        let framing = ResponseFraming::of(&response);
        write_head(
            &mut self.write_buf,
            &response,
            framing,
            ConnectionHeader::Close,
        );
        let head_only = request.is_some_and(|request| request.method() == Method::Head);
        if !head_only && framing != ResponseFraming::NoBody {
            let _ = self.write_body(response.take_body(), framing).await;
        }
        info!(status, "refused: {error}");
        self.close_gracefully().await;
    }

    /// Flushes, says "no more from us" (FIN), and reads what the client
    /// still sends for a little while before closing. Closing with unread
    /// bytes would make the kernel send a reset, and a reset can destroy
    /// our last response before the client has read it.
    async fn close_gracefully(&mut self) {
        if self.flush().await.is_err() || self.stream.shutdown().await.is_err() {
            return;
        }
        let mut discarded = 0;
        // On the heap: an array here would make every connection's future
        // 4 KiB larger for its whole life, to be used once at its end.
        let mut scratch = vec![0u8; 4096];
        let linger = tokio::time::timeout(LINGER_TIME, async {
            while discarded < LINGER_BYTES {
                match self.stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => discarded += n,
                }
            }
        });
        let _ = linger.await;
    }

    // ANCHOR: flush
    /// Writes the queued responses, if any.
    async fn flush(&mut self) -> io::Result<()> {
        if self.write_buf.is_empty() {
            return Ok(());
        }
        // Usually the socket takes everything at once: then there is no
        // need to start a timeout, nor to wait for anything. (Over TLS this
        // always takes the longer way, which also pushes out the records
        // rustls has encrypted.)
        let written = self.stream.try_write(&self.write_buf)?;
        let pending = std::mem::take(&mut self.write_buf);
        let result = match pending.get(written..) {
            Some(rest) if !rest.is_empty() => self.write_all(rest).await,
            _ => Ok(()),
        };
        debug!(bytes = pending.len(), "written to the socket");
        // Keep the allocation for the next responses.
        self.write_buf = pending;
        self.write_buf.clear();
        result
    }
    // ANCHOR_END: flush

    /// Writes all of `bytes`, or fails if the client has not taken all of
    /// them within the body timeout (a client that sends requests but never
    /// reads). Over TLS, the flush pushes out the records rustls has
    /// encrypted.
    ///
    /// The write has a deadline of its own, not `self.deadline`: that one
    /// belongs to the read in progress, and a flush can come in the middle
    /// of reading a head (the responses to earlier pipelined requests go
    /// out first). Moving the shared deadline here gave such a head the
    /// body timeout instead of the header timeout (round 3's F4). `timeout`
    /// polls the write first, so a write that completes at once, the usual
    /// case, never registers its timer.
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let written = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.timeouts.body, written).await {
            Ok(written) => written,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client is not reading the response",
            )),
        }
    }
}

/// A request's log line, begun before the request moves into the
/// application and finished once its response is written:
/// `GET /hello status=200 bytes=12 duration=35µs`.
struct RequestLog {
    /// When the head was read.
    started: Instant,
    /// `GET /hello`: the request line up to the target, as sent. A
    /// reference-counted slice of the head, so keeping it copies nothing.
    line: Bytes,
}

impl RequestLog {
    /// Notes the request's method and target, and the time; `None` when
    /// info lines are off (`RUST_LOG=warn`, as a busy server runs): a line
    /// nobody will see is not worth a reading of the clock.
    fn start(request: &Request) -> Option<RequestLog> {
        if !tracing::enabled!(tracing::Level::INFO) {
            return None;
        }
        Some(RequestLog {
            started: Instant::now(),
            line: request.head.slice(..request.target.end),
        })
    }

    /// Logs the request, with its response's status and body length.
    fn finish(self, status: u16, bytes: u64) {
        // httparse let only visible ASCII into the method and target.
        let line = std::str::from_utf8(&self.line).unwrap_or("");
        info!(status, bytes, duration = ?self.started.elapsed(), "{line}");
    }
}
