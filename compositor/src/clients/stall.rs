//! Clients whose connection stalls on a message that cannot be completed. The Rust wire
//! parser of wayland-backend 0.3 takes a message shorter than its arguments for one
//! whose end has not arrived yet and waits for the rest, for good. A client whose data
//! arrives but yields no request for [`STALL_LIMIT`] is disconnected as malformed: a
//! real client's split message completes within milliseconds.

use std::{
    cell::Cell,
    rc::Rc,
    time::{Duration, Instant},
};

/// How long a client's data may stay without a request made of it.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);

/// Since when a client's data has yielded no request (shared with its timer).
#[derive(Clone, Debug, Default)]
pub struct Stall(Rc<Cell<Option<Instant>>>);

impl Stall {
    /// A request was read and handled: no stall.
    pub fn progressed(&self) {
        self.0.set(None);
    }

    /// Data came and no request could be read. Returns the instant the stall began
    /// when it began just now (the caller then checks it again after [`STALL_LIMIT`]).
    pub fn nothing_read(&self, now: Instant) -> Option<Instant> {
        if self.0.get().is_some() {
            return None;
        }
        self.0.set(Some(now));
        Some(now)
    }

    /// Whether the stall that began at `began` still goes on.
    pub fn still_since(&self, began: Instant) -> bool {
        self.0.get() == Some(began)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_lasts_until_a_request_is_read_and_begins_once() {
        let stall = Stall::default();
        let t0 = Instant::now();
        let began = stall.nothing_read(t0);
        assert_eq!(began, Some(t0));
        // More data without a request: the same stall, no second clock.
        assert_eq!(stall.nothing_read(t0 + Duration::from_millis(10)), None);
        assert!(stall.still_since(t0));
        stall.progressed();
        assert!(!stall.still_since(t0));
        // A new stall is a new one.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(stall.nothing_read(t1), Some(t1));
        assert!(!stall.still_since(t0));
        assert!(stall.still_since(t1));
    }
}
