//! How pictures reach an encoding job: a mailbox holding the newest picture, not a
//! queue. The compositor never waits; a picture the job had no time to take is replaced
//! by the next (and counted as dropped), so the job always encodes the latest picture
//! and the screen's final state always reaches the file. Requests (save, stop) queue
//! behind it, so a stop still encodes the picture drawn just before.

use std::{
    collections::VecDeque,
    sync::{Condvar, Mutex},
    time::Duration,
};

/// What the job takes next.
#[derive(Debug, PartialEq)]
pub enum Taken<P, C> {
    /// The newest picture and when it was drawn.
    Picture(P, Duration),
    /// A request.
    Control(C),
    /// Nothing came before the deadline.
    Timeout,
}

struct State<P, C> {
    picture: Option<(P, Duration)>,
    controls: VecDeque<C>,
    closed: bool,
}

/// The mailbox.
pub struct Inbox<P, C> {
    state: Mutex<State<P, C>>,
    ready: Condvar,
}

impl<P, C> Default for Inbox<P, C> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                picture: None,
                controls: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<P, C> Inbox<P, C> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<P, C>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leaves a picture; true when it replaced one the job never took.
    pub fn put_picture(&self, picture: P, at: Duration) -> bool {
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        let replaced = s.picture.replace((picture, at)).is_some();
        self.ready.notify_one();
        replaced
    }

    /// Queues a request; gives it back when the job has ended.
    pub fn put_control(&self, control: C) -> Result<(), C> {
        let mut s = self.lock();
        if s.closed {
            return Err(control);
        }
        s.controls.push_back(control);
        self.ready.notify_one();
        Ok(())
    }

    /// The next thing to do, waiting at most `wait` (forever when None). A waiting
    /// picture comes before requests.
    pub fn take(&self, wait: Option<Duration>) -> Taken<P, C> {
        let mut s = self.lock();
        loop {
            if let Some((p, at)) = s.picture.take() {
                return Taken::Picture(p, at);
            }
            if let Some(c) = s.controls.pop_front() {
                return Taken::Control(c);
            }
            s = match wait {
                None => self.ready.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(wait) => {
                    let (s, timeout) = self
                        .ready
                        .wait_timeout(s, wait)
                        .unwrap_or_else(|p| p.into_inner());
                    if timeout.timed_out() && s.picture.is_none() && s.controls.is_empty() {
                        return Taken::Timeout;
                    }
                    s
                }
            };
        }
    }

    /// The job ended: nothing more is accepted; what waits is handed back.
    pub fn close(&self) -> Vec<C> {
        let mut s = self.lock();
        s.closed = true;
        s.picture = None;
        s.controls.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_picture_wins_and_comes_before_a_stop() {
        let inbox: Inbox<u32, &str> = Inbox::default();
        assert!(!inbox.put_picture(1, Duration::ZERO));
        assert!(
            inbox.put_picture(2, Duration::from_millis(16)),
            "1 was never taken"
        );
        inbox.put_control("stop").unwrap();
        assert_eq!(
            inbox.take(None),
            Taken::Picture(2, Duration::from_millis(16))
        );
        assert_eq!(inbox.take(None), Taken::Control("stop"));
        assert_eq!(inbox.take(Some(Duration::from_millis(5))), Taken::Timeout);
        inbox.put_control("save").unwrap();
        assert_eq!(inbox.close(), vec!["save"]);
        assert_eq!(inbox.put_control("late"), Err("late"));
        assert!(!inbox.put_picture(3, Duration::ZERO));
    }

    #[test]
    fn a_waiting_job_wakes_for_a_picture_from_another_thread() {
        let inbox: std::sync::Arc<Inbox<u32, ()>> = Default::default();
        let sender = inbox.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.put_picture(7, Duration::from_secs(1));
        });
        assert_eq!(
            inbox.take(Some(Duration::from_secs(5))),
            Taken::Picture(7, Duration::from_secs(1))
        );
        t.join().unwrap();
    }
}
