//! Clients that flood the compositor with requests. The Rust server backend of
//! wayland-backend 0.3 reads and handles one client's requests until its socket is
//! empty; a client that keeps writing as fast as they are handled would keep the event
//! loop inside that one read for as long as it likes, and every other client, the
//! outputs and the input would wait. (libwayland-server reads one buffer per turn, so
//! its compositors interleave; there is no such bound to ask wayland-backend for.)
//!
//! A watchdog thread sees how much processor time the event loop's thread has spent on
//! the current client's requests without a pause. Past [`FLOOD_LIMIT`], if more of the
//! client's requests wait in its socket ([`FLOOD_BACKLOG`] bytes or more), it shuts the
//! socket's reading side: the backend's next read ends that client and the loop comes
//! back. Processor time, not the clock: on a loaded machine a burst takes longer by the
//! clock but not in work. The backlog, because one request may legitimately be slow (a
//! capture into a client's buffer on a slow machine: the emulated one of the KMS tests
//! took longer than the limit) while its client waits for the answer; a flooding client
//! keeps its socket full. A real client's burst (ten thousand subsurfaces made at once)
//! takes well under a tenth of the limit.
//!
//! The thread sleeps on a condition variable while no client is being read, so an idle
//! compositor has no timer waking it.

use std::{
    os::fd::OwnedFd,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Condvar, Mutex, MutexGuard, OnceLock,
    },
    time::Duration,
};

use tracing::warn;

/// How much of the event loop's processor time one client's requests may take without
/// the loop coming back.
pub const FLOOD_LIMIT: Duration = Duration::from_millis(250);

/// Bytes of requests that must still wait in the socket at [`FLOOD_LIMIT`] for the read to
/// be a flood: more than a client leaves queued behind a slow request (a few requests of
/// tens of bytes each); a flooder writes faster than its requests are handled, so its
/// socket stays full.
pub const FLOOD_BACKLOG: u64 = 4096;

/// One client's socket as the watchdog sees it: a descriptor of its own (so that the
/// socket stays open while the watchdog may shut it), and whether it was shut.
#[derive(Clone, Debug)]
pub struct Watched {
    socket: Arc<OwnedFd>,
    cut: Arc<AtomicBool>,
}

impl Watched {
    /// Watches the socket `socket` is a descriptor of.
    pub fn new(socket: Arc<OwnedFd>) -> Self {
        Self {
            socket,
            cut: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the watchdog ended this client's reading for flooding.
    pub fn was_cut(&self) -> bool {
        self.cut.load(Ordering::Acquire)
    }
}

/// The read in progress, if any: the reading thread's processor clock, its time when the
/// read began, and the socket.
#[derive(Default)]
struct Reading {
    current: Option<(ThreadClock, Duration, Watched)>,
    /// The watchdog waits without a deadline (nothing being read when it last looked).
    parked: bool,
}

struct Watchdog {
    reading: Mutex<Reading>,
    wake: Condvar,
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, Reading> {
        // A poisoned lock only means a panic elsewhere while holding it; the data (an
        // instant and a descriptor) is valid either way.
        self.reading.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        let mut reading = self.lock();
        loop {
            let used = reading
                .current
                .as_ref()
                .map(|(clock, began, _)| clock.now().saturating_sub(*began));
            match verdict(used) {
                Verdict::Idle => {
                    reading.parked = true;
                    reading = self.wake.wait(reading).unwrap_or_else(|p| p.into_inner());
                    reading.parked = false;
                }
                // A thread spends at most one second of processor time a second, so
                // the limit is not reached before `left` has passed by the clock.
                Verdict::WaitFor(left) => {
                    reading = self
                        .wake
                        .wait_timeout(reading, left)
                        .map(|(guard, _)| guard)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
                Verdict::LimitReached => {
                    let waiting = reading.current.as_ref().map_or(0, |(_, _, watched)| {
                        rustix::io::ioctl_fionread(&*watched.socket).unwrap_or(0)
                    });
                    if waiting < FLOOD_BACKLOG {
                        // A slow request whose client waits for it: measure afresh.
                        if let Some((clock, began, _)) = reading.current.as_mut() {
                            *began = clock.now();
                        }
                        continue;
                    }
                    if let Some((_, _, watched)) = reading.current.take() {
                        watched.cut.store(true, Ordering::Release);
                        // The backend's next read sees the end of the stream and ends
                        // the client; what the client reads is untouched.
                        if let Err(err) =
                            rustix::net::shutdown(&*watched.socket, rustix::net::Shutdown::Read)
                        {
                            warn!(%err, "cannot stop reading a flooding client");
                        }
                    }
                }
            }
        }
    }
}

/// What the watchdog does next, given the processor time the current read has taken.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Idle,
    WaitFor(Duration),
    /// A flood if [`FLOOD_BACKLOG`] waits in the socket.
    LimitReached,
}

fn verdict(used: Option<Duration>) -> Verdict {
    match used {
        None => Verdict::Idle,
        Some(used) if used >= FLOOD_LIMIT => Verdict::LimitReached,
        Some(used) => Verdict::WaitFor(FLOOD_LIMIT - used),
    }
}

/// The processor-time clock of one thread, readable from another.
#[derive(Clone, Copy, Debug)]
struct ThreadClock(libc::clockid_t);

impl ThreadClock {
    /// The calling thread's clock; None where the system has none.
    fn of_this_thread() -> Option<Self> {
        let mut id: libc::clockid_t = 0;
        // SAFETY: pthread_self is always valid for the calling thread, and `id` is a
        // valid place for the result.
        let failed = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
        (failed == 0).then_some(Self(id))
    }

    /// The processor time the thread has used. The thread (the event loop's) lives as
    /// long as the process; a clock that cannot be read reads as zero.
    fn now(self) -> Duration {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `time` is a valid timespec to write; a bad clock id is an error, not
        // undefined behaviour.
        if unsafe { libc::clock_gettime(self.0, &mut time) } != 0 {
            return Duration::ZERO;
        }
        Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
    }
}

fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();
    *WATCHDOG.get_or_init(|| {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            reading: Mutex::new(Reading::default()),
            wake: Condvar::new(),
        }));
        match std::thread::Builder::new()
            .name("flood-watchdog".into())
            .spawn(move || dog.run())
        {
            Ok(_) => Some(dog),
            Err(err) => {
                warn!(%err, "no flood watchdog: a flooding client could hold up the others");
                None
            }
        }
    })
}

/// Marks that `watched`'s requests are being read until the guard drops.
pub fn reading(watched: &Watched) -> ReadingGuard {
    thread_local! {
        static CLOCK: Option<ThreadClock> = ThreadClock::of_this_thread();
    }
    let dog = watchdog().zip(CLOCK.with(|clock| *clock));
    if let Some((dog, clock)) = dog {
        let mut reading = dog.lock();
        reading.current = Some((clock, clock.now(), watched.clone()));
        if reading.parked {
            dog.wake.notify_one();
        }
    }
    ReadingGuard {
        dog: dog.map(|(dog, _)| dog),
    }
}

/// Ends the mark of [`reading`].
pub struct ReadingGuard {
    dog: Option<&'static Watchdog>,
}

impl Drop for ReadingGuard {
    fn drop(&mut self) {
        if let Some(dog) = self.dog {
            dog.lock().current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_cut_only_once_it_has_taken_the_limit() {
        assert_eq!(verdict(None), Verdict::Idle);
        assert_eq!(verdict(Some(Duration::ZERO)), Verdict::WaitFor(FLOOD_LIMIT));
        let almost = FLOOD_LIMIT - Duration::from_millis(1);
        assert_eq!(
            verdict(Some(almost)),
            Verdict::WaitFor(Duration::from_millis(1))
        );
        assert_eq!(verdict(Some(FLOOD_LIMIT)), Verdict::LimitReached);
        assert_eq!(verdict(Some(FLOOD_LIMIT * 2)), Verdict::LimitReached);
    }

    /// Spins the calling thread for `cpu` of processor time.
    fn busy(cpu: Duration) {
        let clock = ThreadClock::of_this_thread().expect("a thread clock");
        let start = clock.now();
        while clock.now() - start < cpu {
            std::hint::black_box(0u64);
        }
    }

    #[test]
    fn the_watchdog_shuts_reading_only_of_a_socket_that_stays_full() {
        use std::{
            io::{Read, Write},
            os::unix::net::UnixStream,
        };
        let (mut ours, mut theirs) = UnixStream::pair().expect("socket pair");
        let dup = || Arc::new(OwnedFd::from(ours.try_clone().expect("dup")));
        let quick = Watched::new(dup());
        drop(reading(&quick));
        std::thread::sleep(FLOOD_LIMIT + Duration::from_millis(100));
        assert!(!quick.was_cut(), "a read that ended is not cut");

        // Waiting (the thread asleep) is no flood: only work counts.
        let waiting = Watched::new(dup());
        let guard = reading(&waiting);
        std::thread::sleep(FLOOD_LIMIT + Duration::from_millis(100));
        drop(guard);
        assert!(
            !waiting.was_cut(),
            "a read that took no processor time is not cut"
        );

        // Long work while the client waits for it (nothing more in the socket).
        let slow = Watched::new(dup());
        let guard = reading(&slow);
        busy(FLOOD_LIMIT + Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(100));
        drop(guard);
        assert!(!slow.was_cut(), "a slow request is no flood");

        // Long work while more requests keep waiting.
        theirs
            .write_all(&[0u8; FLOOD_BACKLOG as usize * 2])
            .expect("fill the socket");
        let flood = Watched::new(dup());
        let guard = reading(&flood);
        busy(FLOOD_LIMIT + Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(100));
        drop(guard);
        assert!(flood.was_cut());
        // Our side reads what had come, then the end of the stream, although the peer
        // is still there.
        let mut rest = Vec::new();
        ours.read_to_end(&mut rest).expect("read");
        assert_eq!(rest.len(), FLOOD_BACKLOG as usize * 2);
    }
}
