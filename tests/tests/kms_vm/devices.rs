//! uinput devices the tests create inside the VM: a keyboard, a mouse and a
//! touchscreen, registered the way udev would so libinput takes them.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use evdev::{
    uinput::{VirtualDevice, VirtualDeviceBuilder},
    AbsInfo, AbsoluteAxisType, AttributeSet, EventType, InputEvent, Key, PropType,
    RelativeAxisType, UinputAbsSetup,
};

/// Stands in for udev's input_id builtin, which the VM does not run: libinput only
/// takes devices udev initialised and tagged.
fn register_with_udev(device: &mut VirtualDevice, kinds: &[&str]) -> Result<PathBuf> {
    let node = device
        .enumerate_dev_nodes_blocking()?
        .filter_map(Result::ok)
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("event"))
        })
        .context("the uinput device has no event node")?;
    let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata(&node)?);
    let (major, minor) = (rustix::fs::major(rdev), rustix::fs::minor(rdev));
    std::fs::create_dir_all("/run/udev/data")?;
    let mut db = String::from("I:1\nE:ID_INPUT=1\n");
    for kind in kinds {
        db.push_str(&format!("E:ID_INPUT_{kind}=1\n"));
    }
    std::fs::write(format!("/run/udev/data/c{major}:{minor}"), db)?;
    Ok(node)
}

pub(crate) struct Devices {
    keyboard: VirtualDevice,
    mouse: VirtualDevice,
}

impl Devices {
    pub(crate) fn create() -> Result<Self> {
        let mut keys = AttributeSet::<Key>::new();
        for k in [
            Key::KEY_H,
            Key::KEY_I,
            Key::KEY_A,
            Key::KEY_LEFTCTRL,
            Key::KEY_LEFTALT,
            Key::KEY_LEFTSHIFT,
            Key::KEY_ENTER,
            Key::KEY_F1,
            Key::KEY_F2,
        ] {
            keys.insert(k);
        }
        let mut keyboard = VirtualDeviceBuilder::new()?
            .name("ghost test keyboard")
            .with_keys(&keys)?
            .build()?;
        let mut buttons = AttributeSet::<Key>::new();
        buttons.insert(Key::BTN_LEFT);
        buttons.insert(Key::BTN_RIGHT);
        let mut axes = AttributeSet::<RelativeAxisType>::new();
        axes.insert(RelativeAxisType::REL_X);
        axes.insert(RelativeAxisType::REL_Y);
        let mut mouse = VirtualDeviceBuilder::new()?
            .name("ghost test mouse")
            .with_keys(&buttons)?
            .with_relative_axes(&axes)?
            .build()?;
        register_with_udev(&mut keyboard, &["KEYBOARD", "KEY"])?;
        register_with_udev(&mut mouse, &["MOUSE"])?;
        Ok(Self { keyboard, mouse })
    }

    /// Moves the pointer by (dx, dy) in steps a real mouse would send.
    pub(crate) fn move_by(&mut self, mut dx: i32, mut dy: i32) -> Result<()> {
        while dx != 0 || dy != 0 {
            let sx = dx.clamp(-40, 40);
            let sy = dy.clamp(-40, 40);
            self.mouse.emit(&[
                InputEvent::new(EventType::RELATIVE, RelativeAxisType::REL_X.0, sx),
                InputEvent::new(EventType::RELATIVE, RelativeAxisType::REL_Y.0, sy),
            ])?;
            dx -= sx;
            dy -= sy;
            // Slow enough that the kernel's per-client event buffer never overflows
            // while the compositor is busy (a real mouse sends at most every 1-8 ms,
            // but moves a few pixels, not 40).
            std::thread::sleep(Duration::from_millis(12));
        }
        Ok(())
    }

    pub(crate) fn click(&mut self) -> Result<()> {
        for value in [1, 0] {
            self.mouse
                .emit(&[InputEvent::new(EventType::KEY, Key::BTN_LEFT.code(), value)])?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Presses `keys` in order and lets them go in reverse, as a hand does Ctrl+Alt+F2.
    pub(crate) fn chord(&mut self, keys: &[Key]) -> Result<()> {
        let order = keys
            .iter()
            .map(|k| (k, 1))
            .chain(keys.iter().rev().map(|k| (k, 0)));
        for (key, value) in order {
            self.keyboard
                .emit(&[InputEvent::new(EventType::KEY, key.code(), value)])?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub(crate) fn tap(&mut self, key: Key) -> Result<()> {
        for value in [1, 0] {
            self.keyboard
                .emit(&[InputEvent::new(EventType::KEY, key.code(), value)])?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// A uinput touchscreen whose surface spans the 1024x768 output (multi-touch, type B).
pub(crate) struct Touchscreen(VirtualDevice);

impl Touchscreen {
    pub(crate) fn create() -> Result<Self> {
        let mut keys = AttributeSet::<Key>::new();
        keys.insert(Key::BTN_TOUCH);
        let mut props = AttributeSet::<PropType>::new();
        props.insert(PropType::DIRECT);
        // Resolution 4 units/mm: a 256 x 192 mm panel.
        let axis = |axis, max| UinputAbsSetup::new(axis, AbsInfo::new(0, 0, max, 0, 0, 4));
        let mut device = VirtualDeviceBuilder::new()?
            .name("ghost test touchscreen")
            .with_keys(&keys)?
            .with_properties(&props)?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_X, 1023))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_Y, 767))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_SLOT, 9))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_TRACKING_ID, 65535))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_POSITION_X, 1023))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_MT_POSITION_Y, 767))?
            .build()?;
        register_with_udev(&mut device, &["TOUCHSCREEN"])?;
        Ok(Self(device))
    }

    /// One finger down at (x, y) and up again.
    pub(crate) fn tap(&mut self, x: i32, y: i32) -> Result<()> {
        let abs =
            |axis: AbsoluteAxisType, value| InputEvent::new(EventType::ABSOLUTE, axis.0, value);
        self.0.emit(&[
            abs(AbsoluteAxisType::ABS_MT_SLOT, 0),
            abs(AbsoluteAxisType::ABS_MT_TRACKING_ID, 7),
            abs(AbsoluteAxisType::ABS_MT_POSITION_X, x),
            abs(AbsoluteAxisType::ABS_MT_POSITION_Y, y),
            InputEvent::new(EventType::KEY, Key::BTN_TOUCH.code(), 1),
            abs(AbsoluteAxisType::ABS_X, x),
            abs(AbsoluteAxisType::ABS_Y, y),
        ])?;
        std::thread::sleep(Duration::from_millis(60));
        self.0.emit(&[
            abs(AbsoluteAxisType::ABS_MT_TRACKING_ID, -1),
            InputEvent::new(EventType::KEY, Key::BTN_TOUCH.code(), 0),
        ])?;
        Ok(())
    }
}

/// A uinput pen tablet (as a Wacom Intuos is): a pen with pressure over a 256 x 192 mm
/// area mapped onto the 1024x768 output.
pub(crate) struct PenTablet(VirtualDevice);

impl PenTablet {
    pub(crate) fn create() -> Result<Self> {
        let mut keys = AttributeSet::<Key>::new();
        for k in [Key::BTN_TOOL_PEN, Key::BTN_TOUCH, Key::BTN_STYLUS] {
            keys.insert(k);
        }
        let mut props = AttributeSet::<PropType>::new();
        props.insert(PropType::POINTER);
        let axis = |axis, max, res| UinputAbsSetup::new(axis, AbsInfo::new(0, 0, max, 0, 0, res));
        let mut device = VirtualDeviceBuilder::new()?
            .name("ghost test pen tablet")
            .with_keys(&keys)?
            .with_properties(&props)?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_X, 1023, 4))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_Y, 767, 4))?
            .with_absolute_axis(&axis(AbsoluteAxisType::ABS_PRESSURE, 4095, 0))?
            .build()?;
        register_with_udev(&mut device, &["TABLET"])?;
        Ok(Self(device))
    }

    fn emit(&mut self, events: &[(EventType, u16, i32)]) -> Result<()> {
        let events: Vec<InputEvent> = events
            .iter()
            .map(|(t, c, v)| InputEvent::new(*t, *c, *v))
            .collect();
        self.0.emit(&events)?;
        std::thread::sleep(Duration::from_millis(40));
        Ok(())
    }

    /// The pen comes near at (x, y), touches with `pressure` (of 4095), lifts and leaves.
    pub(crate) fn stroke(&mut self, x: i32, y: i32, pressure: i32) -> Result<()> {
        let (key, abs) = (EventType::KEY, EventType::ABSOLUTE);
        let (px, py, pp) = (
            AbsoluteAxisType::ABS_X.0,
            AbsoluteAxisType::ABS_Y.0,
            AbsoluteAxisType::ABS_PRESSURE.0,
        );
        self.emit(&[
            (key, Key::BTN_TOOL_PEN.code(), 1),
            (abs, px, x),
            (abs, py, y),
        ])?;
        self.emit(&[
            (abs, px, x + 4),
            (abs, pp, pressure),
            (key, Key::BTN_TOUCH.code(), 1),
        ])?;
        self.emit(&[(abs, px, x + 8), (abs, pp, pressure + 10)])?;
        self.emit(&[(abs, pp, 0), (key, Key::BTN_TOUCH.code(), 0)])?;
        self.emit(&[(key, Key::BTN_TOOL_PEN.code(), 0)])?;
        Ok(())
    }
}
