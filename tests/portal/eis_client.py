#!/usr/bin/env python3
"""A libei client of ghostcomp's RemoteDesktop backend, as input-leap or a remote-desktop
server on xdg-desktop-portal 1.17+ is: a remote-desktop session started on the backend
(org.freedesktop.impl.portal.RemoteDesktop, as the portal frontend calls it), then
ConnectToEIS, then the real libei (through ctypes) sending key presses and an absolute
pointer click. Prints a JSON report.

    eis_client.py --libei PATH/libei.so.1 [--devices N] [--type TEXT] [--click X,Y]
                  [--wait-disconnect S]

--type sends each character's key (evdev codes of a US keyboard: lowercase letters,
space, newline); --click moves the absolute pointer to X,Y on the desktop and clicks.
--wait-disconnect waits that long for the server to disconnect the client (the user
revoked control). --serve instead prints "ready" once connected and moves the absolute
pointer to each "X Y" line it reads (for bench/remote.sh's latency probe).
"""
import argparse
import ctypes
import json
import os
import select
import sys
import time

import dbus

# libei.h (1.3): event types and device capabilities.
EI_EVENT_CONNECT, EI_EVENT_DISCONNECT, EI_EVENT_SEAT_ADDED = 1, 2, 3
EI_EVENT_DEVICE_ADDED, EI_EVENT_DEVICE_RESUMED = 5, 8
CAP_POINTER, CAP_POINTER_ABSOLUTE, CAP_KEYBOARD = 1 << 0, 1 << 1, 1 << 2
CAP_TOUCH, CAP_SCROLL, CAP_BUTTON = 1 << 3, 1 << 4, 1 << 5
BTN_LEFT = 0x110

KEYS = {c: code for row, start in (("qwertyuiop", 16), ("asdfghjkl", 30), ("zxcvbnm", 44))
        for code, c in enumerate(row, start)}
KEYS.update({" ": 57, "\n": 28})


def library(path):
    lib = ctypes.CDLL(path)
    p, u32, u64, b, d, i = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_bool,
                            ctypes.c_double, ctypes.c_int)
    for name, res, args in [
        ("ei_new_sender", p, [p]), ("ei_configure_name", None, [p, ctypes.c_char_p]),
        ("ei_setup_backend_fd", i, [p, i]), ("ei_get_fd", i, [p]), ("ei_dispatch", None, [p]),
        ("ei_get_event", p, [p]), ("ei_event_get_type", i, [p]), ("ei_event_get_seat", p, [p]),
        ("ei_event_get_device", p, [p]), ("ei_event_unref", p, [p]), ("ei_device_ref", p, [p]),
        ("ei_device_has_capability", b, [p, i]), ("ei_device_start_emulating", None, [p, u32]),
        ("ei_device_keyboard_key", None, [p, u32, b]), ("ei_device_frame", None, [p, u64]),
        ("ei_device_pointer_motion_absolute", None, [p, d, d]),
        ("ei_device_button_button", None, [p, u32, b]), ("ei_now", u64, [p]),
        ("ei_device_keyboard_get_keymap", p, [p]), ("ei_keymap_get_size", ctypes.c_size_t, [p]),
        ("ei_keymap_get_type", i, [p]), ("ei_keymap_get_fd", i, [p]),
    ]:
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib


def keymap_of(lib, keyboard):
    """The type and the start of the keymap the server gave the keyboard, if any."""
    if not keyboard:
        return None
    keymap = lib.ei_device_keyboard_get_keymap(keyboard)
    if not keymap:
        return None
    size = lib.ei_keymap_get_size(keymap)
    head = os.pread(lib.ei_keymap_get_fd(keymap), min(size, 64), 0).decode(errors="replace")
    return {"type": lib.ei_keymap_get_type(keymap), "size": size, "head": head}


def start_session(devices):
    """CreateSession, SelectDevices, Start and ConnectToEIS on the backend."""
    bus = dbus.SessionBus()
    backend = bus.get_object("org.freedesktop.impl.portal.desktop.ghost", "/org/freedesktop/portal/desktop")
    remote = dbus.Interface(backend, "org.freedesktop.impl.portal.RemoteDesktop")
    session = dbus.ObjectPath("/org/freedesktop/portal/desktop/session/eis/ghost")
    app = "org.example.EisClient"
    empty = dbus.Dictionary({}, signature="sv")
    remote.CreateSession(dbus.ObjectPath("/r/1"), session, app, empty)
    remote.SelectDevices(dbus.ObjectPath("/r/2"), session, app,
                         dbus.Dictionary({"types": dbus.UInt32(devices)}, signature="sv"))
    code, results = remote.Start(dbus.ObjectPath("/r/3"), session, app, "", empty, timeout=120)
    if code != 0:
        return code, None, None
    fd = remote.ConnectToEIS(session, app, empty).take()
    return code, fd, int(results.get("devices", 0))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--libei", required=True)
    p.add_argument("--devices", type=int, default=3)
    p.add_argument("--type", default="")
    p.add_argument("--click")
    p.add_argument("--wait-disconnect", type=float, default=0.0)
    p.add_argument("--serve", action="store_true",
                   help="once connected, print ready and move the absolute pointer to each X Y line read")
    args = p.parse_args()
    lib = library(args.libei)
    code, fd, granted = start_session(args.devices)
    report = {"start": code, "devices": granted}
    if code != 0:
        json.dump(report, sys.stdout)
        print()
        return

    ei = lib.ei_new_sender(None)
    lib.ei_configure_name(ei, b"ghost-eis-test")
    if lib.ei_setup_backend_fd(ei, fd) != 0:
        raise SystemExit("libei refused the socket")
    devices, resumed, state = [], [], {"connected": False, "disconnected": False, "caps": []}

    def pump(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not state["disconnected"]:
            ready, _, _ = select.select([lib.ei_get_fd(ei)], [], [], 0.05)
            if ready:
                lib.ei_dispatch(ei)
            while True:
                event = lib.ei_get_event(ei)
                if not event:
                    break
                kind = lib.ei_event_get_type(event)
                if kind == EI_EVENT_CONNECT:
                    state["connected"] = True
                elif kind == EI_EVENT_DISCONNECT:
                    state["disconnected"] = True
                elif kind == EI_EVENT_SEAT_ADDED:
                    lib.ei_seat_bind_capabilities.restype = ctypes.c_int
                    lib.ei_seat_bind_capabilities(
                        ctypes.c_void_p(lib.ei_event_get_seat(event)), ctypes.c_int(CAP_KEYBOARD),
                        ctypes.c_int(CAP_POINTER), ctypes.c_int(CAP_POINTER_ABSOLUTE),
                        ctypes.c_int(CAP_BUTTON), ctypes.c_int(CAP_SCROLL), ctypes.c_int(CAP_TOUCH),
                        ctypes.c_void_p(None))
                elif kind == EI_EVENT_DEVICE_ADDED:
                    devices.append(lib.ei_device_ref(lib.ei_event_get_device(event)))
                elif kind == EI_EVENT_DEVICE_RESUMED:
                    device = lib.ei_event_get_device(event)
                    lib.ei_device_start_emulating(device, len(resumed) + 1)
                    resumed.append(device)
                lib.ei_event_unref(event)

    def with_cap(cap):
        return next((d for d in resumed if lib.ei_device_has_capability(d, cap)), None)

    # Wait until the devices the grant allows are there.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not state["disconnected"]:
        pump(0.1)
        if resumed and (not args.type or with_cap(CAP_KEYBOARD)) and (not args.click or with_cap(CAP_POINTER_ABSOLUTE)):
            break
    state["caps"] = sorted(
        name for name, cap in (("keyboard", CAP_KEYBOARD), ("pointer", CAP_POINTER),
                               ("absolute", CAP_POINTER_ABSOLUTE), ("touch", CAP_TOUCH))
        if with_cap(cap))
    keyboard, pointer = with_cap(CAP_KEYBOARD), with_cap(CAP_POINTER_ABSOLUTE)
    report["keymap"] = keymap_of(lib, keyboard)
    if args.serve:
        if not pointer:
            raise SystemExit("no absolute pointer")
        print("ready", flush=True)
        for line in sys.stdin:
            x, y = (float(v) for v in line.split())
            lib.ei_device_pointer_motion_absolute(pointer, x, y)
            lib.ei_device_frame(pointer, lib.ei_now(ei))
            lib.ei_dispatch(ei)
        return
    sent = 0
    if keyboard:
        for char in args.type:
            for press in (True, False):
                lib.ei_device_keyboard_key(keyboard, KEYS[char], press)
                lib.ei_device_frame(keyboard, lib.ei_now(ei))
                sent += 1
            pump(0.01)
    if pointer and args.click:
        x, y = (float(v) for v in args.click.split(","))
        lib.ei_device_pointer_motion_absolute(pointer, x, y)
        lib.ei_device_frame(pointer, lib.ei_now(ei))
        for press in (True, False):
            lib.ei_device_button_button(pointer, BTN_LEFT, press)
            lib.ei_device_frame(pointer, lib.ei_now(ei))
        sent += 3
    pump(0.3)
    if args.wait_disconnect > 0:
        pump(args.wait_disconnect)
    report.update({"connected": state["connected"], "disconnected": state["disconnected"],
                   "capabilities": state["caps"], "sent": sent})
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
