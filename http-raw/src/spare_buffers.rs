//! Spare buffers: what a connection gives back when it goes idle, for the
//! next connection that wakes to use.
//!
//! What to notice: a keep-alive connection holds no buffer while it waits
//! for its next request (see `wait_for_request` in `connection.rs`), which
//! is how ten thousand idle connections cost under 2 KiB each. But handing
//! the buffers back to the allocator after every request, and asking it for
//! new ones at the next, is work a busy connection repeats thousands of
//! times a second: a 4 KiB block is too large for the allocator's
//! per-thread fast path (glibc's `tcache` stops at about 1 KiB), and
//! measured, getting and freeing the two buffers cost about a tenth of the
//! instructions of a whole `GET /hello`. So a connection that goes idle
//! leaves its buffers here, with the thread it ran on, and the next
//! connection that wakes on that thread takes them. A thread runs one task
//! at a time, so a few spares serve any number of connections; the busy
//! ones simply take turns. Go's `net/http` does the same with its
//! `sync.Pool` of buffered readers and writers.
//!
//! The connection still holds nothing while idle; what this keeps is
//! bounded per thread (`SPARE_BUFFERS_PER_THREAD` pairs, none larger than
//! `MAX_SPARE_BUFFER`), whatever the number of connections.

use std::cell::RefCell;

use bytes::BytesMut;

use crate::limits::{
    INITIAL_READ_BUFFER, INITIAL_WRITE_BUFFER, MAX_SPARE_BUFFER, SPARE_BUFFERS_PER_THREAD,
};

/// A connection's read buffer and write buffer.
type Pair = (BytesMut, Vec<u8>);

thread_local! {
    // Per thread, so no lock, like the date cache (`date.rs`): each runtime
    // worker keeps its own spares.
    static SPARES: RefCell<Vec<Pair>> = const { RefCell::new(Vec::new()) };
}

/// Buffers for a connection that has something to read: a spare pair if
/// this thread has one, else new ones.
pub fn take() -> Pair {
    // `try_with`: a thread that is exiting has no spares any more.
    let spare = SPARES.try_with(|spares| spares.borrow_mut().pop());
    spare.ok().flatten().unwrap_or_else(|| {
        (
            BytesMut::with_capacity(INITIAL_READ_BUFFER),
            Vec::with_capacity(INITIAL_WRITE_BUFFER),
        )
    })
}

/// Takes back the buffers of a connection that goes idle or ends, to keep
/// for the next one; frees them instead when they are not reusable as they
/// are, or when this thread keeps enough spares already.
pub fn give_back((mut read, mut write): Pair) {
    // Bytes left unread are of no use to anyone once the connection is
    // idle or over. The read buffer may still share its memory with a
    // request's head or body that someone holds (they are slices of it):
    // then `try_reclaim` says no, and the memory goes when they do.
    read.clear();
    let reusable = read.try_reclaim(INITIAL_READ_BUFFER)
        && read.capacity() <= MAX_SPARE_BUFFER
        && write.capacity() <= MAX_SPARE_BUFFER;
    if !reusable {
        return;
    }
    write.clear();
    let _ = SPARES.try_with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < SPARE_BUFFERS_PER_THREAD {
            spares.push((read, write));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_given_back_are_taken_again_on_the_same_thread() {
        let (read, write) = take();
        let (read_at, write_at) = (read.as_ptr(), write.as_ptr());
        give_back((read, write));
        let (read, write) = take();
        assert_eq!((read.as_ptr(), write.as_ptr()), (read_at, write_at));
    }

    #[test]
    fn a_read_buffer_still_shared_with_a_request_is_not_kept() {
        let (mut read, write) = take();
        read.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let head = read.split_to(read.len()).freeze();
        let read_at = read.as_ptr();
        give_back((read, write));
        let (read, _) = take();
        assert_ne!(
            read.as_ptr(),
            read_at,
            "a buffer {head:?} still points into was reused"
        );
    }

    #[test]
    fn a_buffer_grown_past_the_limit_is_freed_not_kept() {
        let (mut read, write) = take();
        read.reserve(MAX_SPARE_BUFFER + 1);
        let spares_before = SPARES.with_borrow(Vec::len);
        give_back((read, write));
        // (Not compared by address: the allocator may well hand the freed
        // memory out again for the next buffer.)
        assert_eq!(SPARES.with_borrow(Vec::len), spares_before);
    }

    #[test]
    fn a_thread_keeps_at_most_its_share_of_spares() {
        let pairs: Vec<Pair> = (0..SPARE_BUFFERS_PER_THREAD + 3).map(|_| take()).collect();
        for pair in pairs {
            give_back(pair);
        }
        assert_eq!(SPARES.with_borrow(Vec::len), SPARE_BUFFERS_PER_THREAD);
    }
}
