//! An X11 program that takes the pointer as X11 games and 3D views do: a window, the
//! pointer hidden (XFixes) and grabbed, confined to the window. Xwayland then locks the
//! Wayland pointer and turns the relative motion it gets into X11 motion. Prints
//! `grabbed` once it holds the grab, then `motion X Y` (window coordinates) for each
//! motion event, until killed.
//!
//! Usage: ghost-x11-grab   (DISPLAY names the X server)

use std::io::Write;

use x11rb::wrapper::ConnectionExt as _;

use x11rb::{
    connection::Connection,
    protocol::{
        xfixes::ConnectionExt as _,
        xproto::{
            ConnectionExt as _, CreateWindowAux, EventMask, GrabMode, GrabStatus, WindowClass,
        },
        Event,
    },
    COPY_DEPTH_FROM_PARENT, CURRENT_TIME, NONE,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (conn, screen_num) = x11rb::connect(None)?;
    let screen = &conn.setup().roots[screen_num];
    let window = conn.generate_id()?;
    conn.create_window(
        COPY_DEPTH_FROM_PARENT,
        window,
        screen.root,
        0,
        0,
        400,
        300,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new()
            .background_pixel(0x0030_6090)
            .event_mask(
                EventMask::POINTER_MOTION | EventMask::STRUCTURE_NOTIFY | EventMask::EXPOSURE,
            ),
    )?;
    conn.change_property8(
        x11rb::protocol::xproto::PropMode::REPLACE,
        window,
        x11rb::protocol::xproto::AtomEnum::WM_NAME,
        x11rb::protocol::xproto::AtomEnum::STRING,
        b"x11-grab",
    )?;
    conn.xfixes_query_version(5, 0)?.reply()?;
    conn.map_window(window)?;
    conn.flush()?;
    // Wait until it is on screen, then take the pointer (the window manager may need a
    // moment to map and focus it).
    loop {
        if let Event::MapNotify(_) = conn.wait_for_event()? {
            break;
        }
    }
    let mut out = std::io::stdout();
    for _ in 0..200 {
        let grab = conn
            .grab_pointer(
                false,
                window,
                EventMask::POINTER_MOTION,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
                window,
                NONE,
                CURRENT_TIME,
            )?
            .reply()?;
        if grab.status == GrabStatus::SUCCESS {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    conn.xfixes_hide_cursor(window)?;
    conn.flush()?;
    writeln!(out, "grabbed")?;
    out.flush()?;
    loop {
        if let Event::MotionNotify(m) = conn.wait_for_event()? {
            writeln!(out, "motion {} {}", m.event_x, m.event_y)?;
            out.flush()?;
        }
    }
}
