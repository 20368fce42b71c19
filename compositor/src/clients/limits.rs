//! What one client may hold. A client that creates objects without end (each costs the
//! compositor memory), hoards those that keep a file descriptor open (buffer pools,
//! buffers, dmabuf parameters: each pins one of the process's descriptors, which every
//! other client needs to connect and to share buffers), or declares more shared-memory
//! buffers than any window needs (the compositor maps and reads them: each byte it reads
//! counts in its memory) is disconnected with `no_memory`.
//!
//! Counting walks the client's objects, so it is done after a client's requests were
//! handled and only every [`CHECK_EVERY`] or every [`CHECK_AFTER_REQUESTS`] requests,
//! whichever comes first: a client gets no further than that past a limit.

use std::time::{Duration, Instant};

use smithay::{
    reexports::wayland_server::{
        backend::ClientId, protocol::wl_buffer::WlBuffer, DisplayHandle, Resource,
    },
    wayland::shm::with_buffer_contents,
};

/// Objects of any kind one client may hold at once. Toolkits hold hundreds to a few
/// thousand.
pub const MAX_OBJECTS: usize = 100_000;

/// Objects that may keep a file descriptor open (see [`holds_descriptor`]). A video
/// player or browser holds tens.
pub const MAX_DESCRIPTOR_OBJECTS: usize = 1024;

/// Bytes of shared-memory buffers one client may hold (stride × height of each): a 4K
/// window with four 16-bit buffers is 265 MB.
pub const MAX_SHM_BUFFER_BYTES: u64 = 1 << 30;

/// How often a busy client's holdings are counted.
pub const CHECK_EVERY: Duration = Duration::from_millis(100);

/// How many requests a client may make between two counts.
pub const CHECK_AFTER_REQUESTS: usize = 1000;

/// Interfaces whose objects pin a file descriptor in the compositor (an shm pool keeps
/// its memfd, and buffers keep their pool or dmabuf planes alive).
pub fn holds_descriptor(interface: &str) -> bool {
    matches!(
        interface,
        "wl_shm_pool" | "wl_buffer" | "zwp_linux_buffer_params_v1"
    )
}

/// What a client holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    /// Every object.
    pub objects: usize,
    /// Objects that may keep a file descriptor open.
    pub descriptor_objects: usize,
    /// Bytes of its shared-memory buffers.
    pub shm_buffer_bytes: u64,
}

impl Holdings {
    /// Counts the objects of `client` (nothing for a client that is gone).
    pub fn of(display: &DisplayHandle, client: ClientId) -> Self {
        let mut holdings = Self::default();
        let mut buffers = Vec::new();
        let _ = display
            .backend_handle()
            .with_all_objects_for(client, |object| {
                holdings.objects += 1;
                if holds_descriptor(object.interface().name) {
                    holdings.descriptor_objects += 1;
                }
                if object.interface().name == "wl_buffer" {
                    buffers.push(object);
                }
            });
        for object in buffers {
            let Ok(buffer) = WlBuffer::from_id(display, object) else {
                continue;
            };
            // dmabufs are no shared memory: they do not count here.
            if let Ok(bytes) = with_buffer_contents(&buffer, |_, _, data| {
                data.stride.max(0) as u64 * data.height.max(0) as u64
            }) {
                holdings.shm_buffer_bytes += bytes;
            }
        }
        holdings
    }

    /// Why these holdings are too much, if they are.
    pub fn excess(&self) -> Option<String> {
        if self.objects > MAX_OBJECTS {
            Some(format!("more than {MAX_OBJECTS} objects"))
        } else if self.descriptor_objects > MAX_DESCRIPTOR_OBJECTS {
            Some(format!(
                "more than {MAX_DESCRIPTOR_OBJECTS} buffers and pools"
            ))
        } else if self.shm_buffer_bytes > MAX_SHM_BUFFER_BYTES {
            Some(format!("more than {MAX_SHM_BUFFER_BYTES} bytes of buffers"))
        } else {
            None
        }
    }
}

/// When a client's holdings were last counted, and how many requests it made since.
#[derive(Debug)]
pub struct Audit {
    last: Instant,
    requests: usize,
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            last: Instant::now(),
            requests: 0,
        }
    }
}

impl Audit {
    /// Notes `requests` just handled; whether it is time to count (and, if so, both
    /// measures start again).
    pub fn due(&mut self, now: Instant, requests: usize) -> bool {
        self.requests += requests;
        if now.duration_since(self.last) < CHECK_EVERY && self.requests < CHECK_AFTER_REQUESTS {
            return false;
        }
        self.last = now;
        self.requests = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdings_within_the_limits_pass_and_beyond_them_say_why() {
        let fine = Holdings {
            objects: MAX_OBJECTS,
            descriptor_objects: MAX_DESCRIPTOR_OBJECTS,
            shm_buffer_bytes: MAX_SHM_BUFFER_BYTES,
        };
        assert_eq!(fine.excess(), None);
        let many = Holdings {
            objects: MAX_OBJECTS + 1,
            ..fine
        };
        assert!(many.excess().is_some_and(|why| why.contains("objects")));
        let hoard = Holdings {
            descriptor_objects: MAX_DESCRIPTOR_OBJECTS + 1,
            ..fine
        };
        assert!(hoard
            .excess()
            .is_some_and(|why| why.contains("buffers and pools")));
        let big = Holdings {
            shm_buffer_bytes: MAX_SHM_BUFFER_BYTES + 1,
            ..fine
        };
        assert!(big.excess().is_some_and(|why| why.contains("bytes")));
    }

    #[test]
    fn counting_is_due_once_per_interval_or_per_thousand_requests() {
        let start = Instant::now();
        let mut audit = Audit {
            last: start,
            requests: 0,
        };
        assert!(!audit.due(start + CHECK_EVERY / 2, 10));
        assert!(audit.due(start + CHECK_EVERY, 10));
        assert!(!audit.due(start + CHECK_EVERY + CHECK_EVERY / 2, 10));
        assert!(audit.due(start + CHECK_EVERY * 2, 10));
        // A burst within one interval.
        let later = start + CHECK_EVERY * 2;
        assert!(!audit.due(later, CHECK_AFTER_REQUESTS - 1));
        assert!(audit.due(later, 1));
        assert!(!audit.due(later, 1));
    }

    #[test]
    fn descriptor_holders_are_pools_buffers_and_dmabuf_parameters() {
        for interface in ["wl_shm_pool", "wl_buffer", "zwp_linux_buffer_params_v1"] {
            assert!(holds_descriptor(interface), "{interface}");
        }
        for interface in ["wl_surface", "wl_region", "wl_callback"] {
            assert!(!holds_descriptor(interface), "{interface}");
        }
    }
}
