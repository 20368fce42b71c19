//! An X11 program with a main window (600×400, "x11-main") and, once that is mapped, a
//! dialog (200×100, "x11-dialog") whose WM_TRANSIENT_FOR names it, as a Save dialog
//! has. Runs until killed.
//!
//! Usage: ghost-x11-dialog   (DISPLAY names the X server)

use x11rb::{
    connection::Connection,
    protocol::{
        xproto::{AtomEnum, ConnectionExt as _, CreateWindowAux, EventMask, PropMode, WindowClass},
        Event,
    },
    wrapper::ConnectionExt as _,
    COPY_DEPTH_FROM_PARENT,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (conn, screen_num) = x11rb::connect(None)?;
    let root = conn.setup().roots[screen_num].root;
    let window = |name: &[u8], w: u16, h: u16| -> Result<u32, Box<dyn std::error::Error>> {
        let id = conn.generate_id()?;
        conn.create_window(
            COPY_DEPTH_FROM_PARENT,
            id,
            root,
            0,
            0,
            w,
            h,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new()
                .background_pixel(0x0060_6060)
                .event_mask(EventMask::STRUCTURE_NOTIFY),
        )?;
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            name,
        )?;
        Ok(id)
    };
    let main = window(b"x11-main", 600, 400)?;
    conn.map_window(main)?;
    conn.flush()?;
    loop {
        if let Event::MapNotify(_) = conn.wait_for_event()? {
            break;
        }
    }
    let dialog = window(b"x11-dialog", 200, 100)?;
    conn.change_property32(
        PropMode::REPLACE,
        dialog,
        AtomEnum::WM_TRANSIENT_FOR,
        AtomEnum::WINDOW,
        &[main],
    )?;
    conn.map_window(dialog)?;
    conn.flush()?;
    loop {
        conn.wait_for_event()?;
    }
}
