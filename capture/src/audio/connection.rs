//! What both audio threads do with a connection to PipeWire: open it, notice when it is
//! lost, and read node names out of the "default" metadata.

use pipewire as pw;

/// A main loop, its context and a connected core.
pub(super) type Connection = (
    pw::main_loop::MainLoop,
    pw::context::Context,
    pw::core::Core,
);

/// Connects to the session's PipeWire.
pub(super) fn connect() -> Result<Connection, String> {
    let main_loop = pw::main_loop::MainLoop::new(None).map_err(|e| e.to_string())?;
    let context = pw::context::Context::new(&main_loop).map_err(|e| e.to_string())?;
    let core = context
        .connect(None)
        .map_err(|e| format!("no PipeWire in this session: {e}"))?;
    Ok((main_loop, context, core))
}

/// Quits `main_loop` when the core reports an error on itself (the connection is gone),
/// after telling `lost` why. Keep the listener while the loop runs.
pub(super) fn quit_on_core_error(
    core: &pw::core::Core,
    main_loop: &pw::main_loop::MainLoop,
    lost: impl Fn(String) + 'static,
) -> pw::core::Listener {
    let weak = main_loop.downgrade();
    core.add_listener_local()
        .error(move |id, _seq, res, message| {
            if id == pw::core::PW_ID_CORE {
                lost(format!("PipeWire: {message} ({res})"));
                if let Some(l) = weak.upgrade() {
                    l.quit();
                }
            }
        })
        .register()
}

/// The node name in a "default" metadata value (`{ "name": "…" }`).
pub(super) fn node_name(json: &str) -> Option<String> {
    let value = json.split("\"name\"").nth(1)?;
    let start = value.find('"')? + 1;
    let end = value[start..].find('"')? + start;
    Some(value[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_node_name_is_read_from_the_metadata_value() {
        assert_eq!(
            super::node_name(r#"{ "name": "alsa_output.pci" }"#).as_deref(),
            Some("alsa_output.pci")
        );
        assert_eq!(super::node_name("{}"), None);
        assert_eq!(super::node_name(r#"{ "name": "#), None);
    }
}
