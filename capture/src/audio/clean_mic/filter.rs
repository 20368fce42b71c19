//! The clean mic's node: one PipeWire filter with the microphone's samples coming in on
//! an input port and the cleaned ones leaving on an output port in the same cycle of
//! the graph (two streams would put a quantum between them). Its class is a source, so
//! applications see a microphone; the microphone is linked to its input here, because
//! WirePlumber links nothing into a source.
//!
//! pipewire-rs has no filter API, so this is the C one (`pw_filter_*`) from its sys
//! crate, kept to this file.

use std::ffi::{c_void, CString};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use pipewire as pw;
use pw::spa::sys as spa_sys;
use pw::sys as pw_sys;

use super::processing::Processing;
use super::NODE_NAME;

/// What the process callback reaches through its data pointer.
struct Ports {
    processing: Arc<Mutex<Processing>>,
    input: *mut c_void,
    output: *mut c_void,
}

/// The filter node; dropping it removes the node.
pub struct SourceFilter {
    filter: NonNull<pw_sys::pw_filter>,
    // Boxed so that their addresses, given to PipeWire, stay put.
    _listener: Box<spa_sys::spa_hook>,
    _events: Box<pw_sys::pw_filter_events>,
    _ports: Box<Ports>,
}

unsafe extern "C" fn on_process(data: *mut c_void, position: *mut spa_sys::spa_io_position) {
    // SAFETY: `data` is the `Ports` box registered with the listener, alive until the
    // filter is destroyed (which happens before the box is dropped, and stops this
    // callback); its fields are only read here (the processing behind a mutex);
    // `position` is the graph's position for this cycle, valid during the call.
    let (ports, samples) = unsafe {
        let Some(ports) = (data as *const Ports).as_ref() else {
            return;
        };
        let Some(position) = position.as_ref() else {
            return;
        };
        (ports, position.clock.duration as u32)
    };
    if samples == 0 {
        return;
    }
    let n = samples as usize;
    // SAFETY: the port handles came from pw_filter_add_port on this filter; a DSP
    // buffer, where there is one, holds `samples` floats for this cycle.
    let input = unsafe { pw_sys::pw_filter_get_dsp_buffer(ports.input, samples) } as *const f32;
    let output = unsafe { pw_sys::pw_filter_get_dsp_buffer(ports.output, samples) } as *mut f32;
    // The compositor's side holds the lock only to swap the chain: a cycle that meets it
    // leaves silence rather than wait on the real-time thread.
    let Ok(mut processing) = ports.processing.try_lock() else {
        if !output.is_null() {
            // SAFETY: as below.
            unsafe { std::slice::from_raw_parts_mut(output, n) }.fill(0.0);
        }
        return;
    };
    if input.is_null() {
        processing.feed_silence(n);
    } else {
        // SAFETY: non-null and `samples` floats long, as above; only read here.
        processing.feed(unsafe { std::slice::from_raw_parts(input, n) });
    }
    if !output.is_null() {
        // SAFETY: non-null, `samples` floats long, written only here during the call.
        processing.drain_into(unsafe { std::slice::from_raw_parts_mut(output, n) });
    }
}

fn port_props(name: &str) -> *mut pw_sys::pw_properties {
    let props = pw::properties::properties! {
        "format.dsp" => "32 bit float mono audio",
        "port.name" => name,
        "audio.channel" => "MONO",
    };
    props.into_raw()
}

impl SourceFilter {
    /// Makes the node "GhostNV clean mic" and connects it.
    pub fn new(
        core: &pw::core::Core,
        processing: Arc<Mutex<Processing>>,
        quantum: &str,
    ) -> Result<SourceFilter, String> {
        let props = pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Audio",
            *pw::keys::MEDIA_CATEGORY => "Duplex",
            *pw::keys::MEDIA_ROLE => "Communication",
            *pw::keys::MEDIA_CLASS => "Audio/Source",
            *pw::keys::NODE_NAME => NODE_NAME,
            *pw::keys::NODE_DESCRIPTION => "GhostNV clean mic",
            *pw::keys::NODE_LATENCY => quantum,
        };
        let name = CString::new("GhostNV clean mic").map_err(|e| e.to_string())?;
        // SAFETY: the core is connected and outlives the filter (the session drops the
        // filter first); the properties' ownership passes to PipeWire.
        let raw =
            unsafe { pw_sys::pw_filter_new(core.as_raw_ptr(), name.as_ptr(), props.into_raw()) };
        let filter = NonNull::new(raw).ok_or("PipeWire refused the filter node")?;
        let mut ports = Box::new(Ports {
            processing,
            input: std::ptr::null_mut(),
            output: std::ptr::null_mut(),
        });
        // SAFETY: `filter` is live; the port properties pass to PipeWire; no params.
        unsafe {
            ports.input = pw_sys::pw_filter_add_port(
                filter.as_ptr(),
                spa_sys::SPA_DIRECTION_INPUT,
                pw_sys::pw_filter_port_flags_PW_FILTER_PORT_FLAG_MAP_BUFFERS,
                0,
                port_props("input_MONO"),
                std::ptr::null_mut(),
                0,
            );
            ports.output = pw_sys::pw_filter_add_port(
                filter.as_ptr(),
                spa_sys::SPA_DIRECTION_OUTPUT,
                pw_sys::pw_filter_port_flags_PW_FILTER_PORT_FLAG_MAP_BUFFERS,
                0,
                port_props("capture_MONO"),
                std::ptr::null_mut(),
                0,
            );
        }
        if ports.input.is_null() || ports.output.is_null() {
            // SAFETY: live, destroyed once, nothing registered on it yet.
            unsafe { pw_sys::pw_filter_destroy(filter.as_ptr()) };
            return Err("PipeWire refused the filter's ports".into());
        }
        // SAFETY: all-zero is a valid pw_filter_events (every callback absent) and a
        // valid unattached spa_hook.
        let mut events: Box<pw_sys::pw_filter_events> = Box::new(unsafe { std::mem::zeroed() });
        events.version = pw_sys::PW_VERSION_FILTER_EVENTS;
        events.process = Some(on_process);
        let mut listener: Box<spa_sys::spa_hook> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: the hook, the events and the data (the Ports box) are boxed and kept
        // in the returned value, which destroys the filter before dropping them.
        let connected = unsafe {
            pw_sys::pw_filter_add_listener(
                filter.as_ptr(),
                listener.as_mut(),
                events.as_ref(),
                ports.as_mut() as *mut Ports as *mut c_void,
            );
            // Processed on PipeWire's real-time thread, within the graph's cycle: from
            // the main loop the input buffers would be gone by the time it ran.
            pw_sys::pw_filter_connect(
                filter.as_ptr(),
                pw_sys::pw_filter_flags_PW_FILTER_FLAG_RT_PROCESS,
                std::ptr::null_mut(),
                0,
            )
        };
        let node = SourceFilter {
            filter,
            _listener: listener,
            _events: events,
            _ports: ports,
        };
        if connected < 0 {
            return Err(format!("PipeWire did not connect the filter ({connected})"));
        }
        Ok(node)
    }
}

impl Drop for SourceFilter {
    fn drop(&mut self) {
        // SAFETY: created by pw_filter_new and destroyed once, here, before the boxes
        // its listener points to are dropped.
        unsafe { pw_sys::pw_filter_destroy(self.filter.as_ptr()) };
    }
}
