#!/usr/bin/env python3
"""Drives the RemoteDesktop portal (org.freedesktop.portal.Desktop) as a remote-desktop
server does, and reports what happened as JSON.

    remote_client.py [--devices N] [--no-share] [--persist] [--restore-token T]
                     [--type TEXT] [--scenario RX,RY,TX,TY] [--click X,Y] [--scroll STEPS]
                     [--wait-closed S] [--click-after-close X,Y]

CreateSession, SelectDevices, ScreenCast.SelectSources on the same session (a monitor;
left out with --no-share), Start. --direct calls ghostcomp's backend
(org.freedesktop.impl.portal.RemoteDesktop) as a newer xdg-desktop-portal does, for
what Debian 12's (RemoteDesktop version 1) does not pass on: restore data, printed as
"restore_data" and given back with --restore-data. Then, in this order: --type sends each character as
a keysym press and release (NotifyKeyboardKeysym; a newline is Return); --scenario sends every kind of input in turn (see scenario());
--click moves
the pointer to X,Y on the stream (NotifyPointerMotionAbsolute) and clicks the left
button; --scroll sends wheel clicks. --wait-closed waits that long for the session's
Closed signal (the user revoked control), after which --click-after-close tries one
more click. Prints the portal's answers, the devices granted, the stream and whether
the session was closed. --serve instead prints "ready" once started and moves the
pointer to each "X Y" line it reads (for bench/remote.sh's latency probe).
"""
import argparse
import json
import sys

import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

BTN_LEFT = 0x110
RETURN = 0xFF0D
# Linux evdev key codes of the letters the scenario types (a US keyboard's places).
EVDEV = {"n": 49, "o": 24, "k": 37, "\n": 28}


def keysym(char):
    if char == "\n":
        return RETURN
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 | code


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, default=3)
    p.add_argument("--no-share", action="store_true")
    p.add_argument("--persist", action="store_true")
    p.add_argument("--restore-token", default="")
    p.add_argument("--type", default="")
    p.add_argument("--click")
    p.add_argument("--scroll", type=int, default=0)
    p.add_argument("--wait-closed", type=float, default=0.0)
    p.add_argument("--click-after-close")
    p.add_argument("--direct", action="store_true")
    p.add_argument("--garbage", action="store_true", help="send odd values first")
    p.add_argument("--scenario", metavar="RX,RY,TX,TY",
                   help="every kind of input in turn around a window at RX,RY and a terminal at TX,TY")
    p.add_argument("--serve", action="store_true",
                   help="once started, print ready and move the pointer to each X Y line read")
    p.add_argument("--restore-data", default="")
    args = p.parse_args()
    if args.direct:
        direct(args)
        return

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    portal = bus.get_object("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop")
    remote = dbus.Interface(portal, "org.freedesktop.portal.RemoteDesktop")
    cast = dbus.Interface(portal, "org.freedesktop.portal.ScreenCast")
    sender = bus.get_unique_name()[1:].replace(".", "_")
    loop = GLib.MainLoop()
    counter = [0]

    def call(iface, method, *params, options):
        counter[0] += 1
        token = f"ghostremote{counter[0]}"
        path = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
        answer = {}

        def on_response(code, results):
            answer["code"] = int(code)
            answer["results"] = results
            loop.quit()

        bus.add_signal_receiver(on_response, "Response", "org.freedesktop.portal.Request", None, path)
        options["handle_token"] = token
        getattr(iface, method)(*params, options)
        timer = GLib.timeout_add_seconds(60, loop.quit)
        loop.run()
        if "code" in answer:
            GLib.source_remove(timer)
        return answer.get("code"), answer.get("results", {})

    report = {}
    code, results = call(remote, "CreateSession", options={"session_handle_token": "ghostremote"})
    if code != 0:
        raise SystemExit(f"CreateSession answered {code}")
    session = results["session_handle"]
    closed = {"closed": False}

    def on_closed(*_):
        closed["closed"] = True
        loop.quit()

    bus.add_signal_receiver(on_closed, "Closed", "org.freedesktop.portal.Session", None, session)

    select = {"types": dbus.UInt32(args.devices)}
    if args.persist:
        select["persist_mode"] = dbus.UInt32(2)
    if args.restore_token:
        select["restore_token"] = args.restore_token
    code, _ = call(remote, "SelectDevices", session, options=select)
    if code != 0:
        raise SystemExit(f"SelectDevices answered {code}")
    if not args.no_share:
        code, _ = call(cast, "SelectSources", session, options={"types": dbus.UInt32(1)})
        if code != 0:
            raise SystemExit(f"SelectSources answered {code}")
    code, started = call(remote, "Start", session, "", options={})
    report["start"] = code
    if code != 0:
        json.dump(report, sys.stdout)
        print()
        return
    report["devices"] = int(started.get("devices", 0))
    report["restore_token"] = str(started.get("restore_token", ""))
    streams = started.get("streams", [])
    node = int(streams[0][0]) if streams else None
    report["node_id"] = node
    report["size"] = [int(v) for v in dict(streams[0][1]).get("size", [])] if streams else []
    empty = dbus.Dictionary({}, signature="sv")

    def click(spec):
        x, y = (float(v) for v in spec.split(","))
        remote.NotifyPointerMotionAbsolute(session, empty, dbus.UInt32(node), x, y)
        remote.NotifyPointerButton(session, empty, dbus.Int32(BTN_LEFT), dbus.UInt32(1))
        remote.NotifyPointerButton(session, empty, dbus.Int32(BTN_LEFT), dbus.UInt32(0))

    if args.serve:
        print("ready", flush=True)
        for line in sys.stdin:
            x, y = (float(v) for v in line.split())
            remote.NotifyPointerMotionAbsolute(session, empty, dbus.UInt32(node), x, y)
        return
    if args.garbage:
        send_garbage(remote, session, node)
    for char in args.type:
        sym = dbus.Int32(keysym(char))
        remote.NotifyKeyboardKeysym(session, empty, sym, dbus.UInt32(1))
        remote.NotifyKeyboardKeysym(session, empty, sym, dbus.UInt32(0))
    if args.scenario:
        report["errors"] = scenario(remote, session, node, [float(v) for v in args.scenario.split(",")])
    if args.click:
        click(args.click)
    if args.scroll:
        remote.NotifyPointerAxisDiscrete(session, empty, dbus.UInt32(0), dbus.Int32(args.scroll))
    if args.wait_closed > 0:
        if not closed["closed"]:
            GLib.timeout_add(int(args.wait_closed * 1000), loop.quit)
            loop.run()
        report["closed"] = closed["closed"]
        if args.click_after_close:
            try:
                click(args.click_after_close)
                report["after_close"] = "sent"
            except dbus.exceptions.DBusException as e:
                report["after_close"] = e.get_dbus_name()
    json.dump(report, sys.stdout)
    print()


def scenario(remote, session, node, points):
    """Each kind of input once, so that what the terminal at TX,TY receives shows that
    each did what it should: with the terminal focused, "Hello portal" by keysyms; the
    pointer to the terminal (absolute), then by relative motion onto the window at
    RX,RY and a click there (focus leaves the terminal, so "no" by keycodes goes to that
    window); a scroll; a finger tapping the terminal (focus comes back) and "ok" by
    keycodes into it. The terminal must read "Hello portal\nok\n"."""
    rx, ry, tx, ty = points
    empty = dbus.Dictionary({}, signature="sv")
    errors = []

    def call(method, *params):
        try:
            getattr(remote, method)(session, *params)
        except dbus.exceptions.DBusException as e:
            errors.append(f"{method}: {e.get_dbus_message()}")

    def keycodes(text):
        for char in text:
            code = dbus.Int32(EVDEV[char])
            call("NotifyKeyboardKeycode", empty, code, dbus.UInt32(1))
            call("NotifyKeyboardKeycode", empty, code, dbus.UInt32(0))

    for char in "Hello portal\n":
        sym = dbus.Int32(keysym(char))
        call("NotifyKeyboardKeysym", empty, sym, dbus.UInt32(1))
        call("NotifyKeyboardKeysym", empty, sym, dbus.UInt32(0))
    call("NotifyPointerMotionAbsolute", empty, dbus.UInt32(node), tx, ty)
    call("NotifyPointerMotion", empty, rx - tx, ry - ty)
    call("NotifyPointerButton", empty, dbus.Int32(BTN_LEFT), dbus.UInt32(1))
    call("NotifyPointerButton", empty, dbus.Int32(BTN_LEFT), dbus.UInt32(0))
    keycodes("no\n")
    call("NotifyPointerAxisDiscrete", empty, dbus.UInt32(0), dbus.Int32(2))
    call("NotifyPointerAxis", dbus.Dictionary({"finish": True}, signature="sv"), 0.0, 10.0)
    call("NotifyTouchDown", empty, dbus.UInt32(node), dbus.UInt32(0), tx, ty)
    call("NotifyTouchUp", empty, dbus.UInt32(0))
    keycodes("ok\n")
    return errors


def send_garbage(remote, session, node):
    """Values no real peer sends; the frontend refuses some, the rest reach us."""
    empty = dbus.Dictionary({}, signature="sv")
    calls = [
        ("NotifyPointerMotion", [float("nan"), float("inf")]),
        ("NotifyPointerMotionAbsolute", [dbus.UInt32(node), -1e308, 1e308]),
        ("NotifyPointerMotionAbsolute", [dbus.UInt32(node + 1000), 10.0, 10.0]),
        ("NotifyPointerButton", [dbus.Int32(99999), dbus.UInt32(1)]),
        ("NotifyPointerButton", [dbus.Int32(-1), dbus.UInt32(7)]),
        ("NotifyPointerAxisDiscrete", [dbus.UInt32(5), dbus.Int32(-(1 << 31))]),
        ("NotifyKeyboardKeycode", [dbus.Int32(1 << 30), dbus.UInt32(1)]),
        ("NotifyKeyboardKeycode", [dbus.Int32(-8), dbus.UInt32(1)]),
        ("NotifyKeyboardKeysym", [dbus.Int32(0x7FFFFFFF), dbus.UInt32(1)]),
        ("NotifyTouchDown", [dbus.UInt32(node), dbus.UInt32(1 << 31), 1.0, 1.0]),
        ("NotifyTouchUp", [dbus.UInt32(1 << 31)]),
    ]
    for method, params in calls:
        try:
            getattr(remote, method)(session, empty, *params)
        except dbus.exceptions.DBusException:
            pass


def direct(args):
    """The backend's own interface: calls answer at once with (response, results)."""
    bus = dbus.SessionBus()
    backend = bus.get_object(
        "org.freedesktop.impl.portal.desktop.ghost", "/org/freedesktop/portal/desktop"
    )
    remote = dbus.Interface(backend, "org.freedesktop.impl.portal.RemoteDesktop")
    session = dbus.ObjectPath("/org/freedesktop/portal/desktop/session/direct/ghost")
    app = "org.example.Remote"
    n = [0]

    def handle():
        n[0] += 1
        return dbus.ObjectPath(f"/org/freedesktop/portal/desktop/request/direct/r{n[0]}")

    empty = dbus.Dictionary({}, signature="sv")
    remote.CreateSession(handle(), session, app, empty)
    select = {"types": dbus.UInt32(args.devices), "persist_mode": dbus.UInt32(2)}
    if args.restore_data:
        vendor, version, data = json.loads(args.restore_data)
        select["restore_data"] = dbus.Struct(
            (vendor, dbus.UInt32(version), dbus.String(data, variant_level=1)), signature="suv"
        )
    remote.SelectDevices(handle(), session, app, dbus.Dictionary(select, signature="sv"))
    code, results = remote.Start(handle(), session, app, "", empty, timeout=120)
    report = {"start": int(code), "devices": int(results.get("devices", 0))}
    restore = results.get("restore_data")
    if restore is not None:
        report["restore_data"] = json.dumps([str(restore[0]), int(restore[1]), str(restore[2])])
    for char in args.type:
        sym = dbus.Int32(keysym(char))
        remote.NotifyKeyboardKeysym(session, empty, sym, dbus.UInt32(1))
        remote.NotifyKeyboardKeysym(session, empty, sym, dbus.UInt32(0))
    session_object = bus.get_object("org.freedesktop.impl.portal.desktop.ghost", session)
    dbus.Interface(session_object, "org.freedesktop.impl.portal.Session").Close()
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
