#!/usr/bin/env python3
"""Calls ghostcomp's portal backend (org.freedesktop.impl.portal.desktop.ghost) directly,
as any process on the session bus could, with arguments no portal frontend would send:
wrong types, unknown and malformed session handles, huge option dictionaries, long
strings, variants of the wrong type, Start twice, thousands of sessions, remote-desktop
input for sessions that hold no control.

    portal_fuzz.py --seed N --rounds N

Prints one JSON object: calls made, how many the backend answered (a reply or a D-Bus
error both count) and how many got no answer at all (a timeout), and whether its bus name
is still owned at the end."""
import argparse
import json
import random
import sys

import dbus

DEST = "org.freedesktop.impl.portal.desktop.ghost"
PATH = "/org/freedesktop/portal/desktop"
CAST = "org.freedesktop.impl.portal.ScreenCast"
SHOT = "org.freedesktop.impl.portal.Screenshot"
ACCESS = "org.freedesktop.impl.portal.Access"
REMOTE = "org.freedesktop.impl.portal.RemoteDesktop"


def text(rng):
    return rng.choice(["", "org.example.App", "ünï\u202e", "x" * rng.randrange(1, 20_000), "\u0001\u0002\u007f"])


def handle(rng, sessions):
    if sessions and rng.random() < 0.6:
        return rng.choice(sessions)
    return dbus.ObjectPath(rng.choice([
        "/", "/org/freedesktop/portal/desktop/session/1_1/none",
        "/org/freedesktop/portal/desktop/session/x" + "y" * rng.randrange(1, 200),
        "/org/freedesktop/portal/desktop/request/1_1/r%d" % rng.randrange(1 << 30),
    ]))


def variant(rng):
    return rng.choice([
        dbus.UInt32(rng.choice([0, 1, 2, 4, 7, 0xFFFFFFFF])),
        dbus.Int32(-1),
        dbus.String(text(rng)),
        dbus.Boolean(True),
        dbus.Array([dbus.Byte(rng.randrange(256)) for _ in range(rng.randrange(200))], signature="y"),
        dbus.Struct((dbus.UInt32(1), dbus.String("output:HEADLESS-1")), signature=None),
        dbus.Dictionary({"a": dbus.Array([], signature="s")}, signature="sv"),
        dbus.Double(float("inf")),
    ])


def options(rng):
    keys = ["types", "cursor_mode", "persist_mode", "restore_data", "multiple", "modal", "interactive"]
    size = rng.choice([0, 1, 3, 10, 2_000])
    opts = {}
    for i in range(size):
        key = keys[i] if i < len(keys) and rng.random() < 0.8 else "k%d" % i
        opts[key] = variant(rng)
    return dbus.Dictionary(opts, signature="sv")


def call(bus, rng, sessions, counts):
    obj = bus.get_object(DEST, PATH, introspect=False)
    kind = rng.randrange(11)
    request = dbus.ObjectPath("/org/freedesktop/portal/desktop/request/1_1/t%d" % rng.randrange(1 << 30))
    try:
        if kind == 0:
            session = dbus.ObjectPath("/org/freedesktop/portal/desktop/session/1_1/s%d" % rng.randrange(1 << 30))
            obj.CreateSession(request, session, text(rng), options(rng), dbus_interface=CAST, timeout=5)
            sessions.append(session)
        elif kind == 1:
            obj.SelectSources(request, handle(rng, sessions), text(rng), options(rng), dbus_interface=CAST, timeout=5)
        elif kind == 2:
            obj.Start(request, handle(rng, sessions), text(rng), text(rng), options(rng),
                      dbus_interface=CAST, timeout=5)
        elif kind == 3:
            # Wrong types for every argument.
            obj.CreateSession(dbus.UInt32(7), dbus.Array([], signature="s"), dbus.Int64(1), dbus.String("x"),
                              dbus_interface=CAST, timeout=5)
        elif kind == 4:
            obj.Close(dbus_interface="org.freedesktop.impl.portal.Session", timeout=5)
        elif kind == 5:
            target = bus.get_object(DEST, handle(rng, sessions), introspect=False)
            target.Close(dbus_interface="org.freedesktop.impl.portal.Session", timeout=5)
        elif kind == 6:
            obj.Get(rng.choice([CAST, SHOT, REMOTE, "no.such.Interface"]), text(rng)[:50],
                    dbus_interface="org.freedesktop.DBus.Properties", timeout=5)
        elif kind == 7:
            session = dbus.ObjectPath("/org/freedesktop/portal/desktop/session/1_1/d%d" % rng.randrange(1 << 30))
            obj.CreateSession(request, session, text(rng), options(rng), dbus_interface=REMOTE, timeout=5)
            sessions.append(session)
        elif kind == 8:
            obj.SelectDevices(request, handle(rng, sessions), text(rng), options(rng), dbus_interface=REMOTE,
                              timeout=5)
        elif kind == 9:
            # Input for sessions never started (or not remote at all), with odd values.
            number = rng.choice([float("nan"), float("inf"), -1e308, 0.0, 12.5])
            method, params = rng.choice([
                ("NotifyPointerMotion", [dbus.Double(number), dbus.Double(number)]),
                ("NotifyPointerMotionAbsolute", [dbus.UInt32(0xFFFFFFFF), dbus.Double(number), dbus.Double(1)]),
                ("NotifyPointerButton", [dbus.Int32(-5), dbus.UInt32(1)]),
                ("NotifyKeyboardKeycode", [dbus.Int32(rng.choice([-1, 30, 1 << 30])), dbus.UInt32(1)]),
                ("NotifyKeyboardKeysym", [dbus.Int32(rng.choice([-1, 0x61, 0x7FFFFFFF])), dbus.UInt32(1)]),
                ("NotifyTouchDown", [dbus.UInt32(1), dbus.UInt32(0xFFFFFFFF), dbus.Double(number), dbus.Double(0)]),
                ("NotifyTouchUp", [dbus.UInt32(7)]),
                ("NotifyPointerAxisDiscrete", [dbus.UInt32(9), dbus.Int32(-(1 << 31))]),
            ])
            getattr(obj, method)(handle(rng, sessions), options(rng), *params, dbus_interface=REMOTE, timeout=5)
        else:
            obj.NoSuchMethod(dbus.String(text(rng)), dbus_interface=rng.choice([CAST, SHOT, ACCESS, REMOTE]),
                             timeout=5)
        counts["answered"] += 1
    except dbus.exceptions.DBusException as e:
        if e.get_dbus_name() == "org.freedesktop.DBus.Error.NoReply":
            counts["unanswered"] += 1
        else:
            counts["answered"] += 1
    counts["calls"] += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bus = dbus.SessionBus()
    sessions = []
    counts = {"calls": 0, "answered": 0, "unanswered": 0}
    for _ in range(args.rounds):
        call(bus, rng, sessions, counts)
    # Thousands of sessions: the backend refuses them past its limit, and keeps working.
    refused = 0
    obj = bus.get_object(DEST, PATH, introspect=False)
    for i in range(300):
        code, _ = obj.CreateSession(dbus.ObjectPath("/r/%d" % i), dbus.ObjectPath("/s/many/%d" % i), "many",
                                    dbus.Dictionary({}, signature="sv"), dbus_interface=CAST, timeout=5)
        refused += int(code != 0)
    counts["sessions_refused_of_300"] = refused
    owner = bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus")
    counts["still_on_bus"] = bool(owner.NameHasOwner(DEST, dbus_interface="org.freedesktop.DBus"))
    json.dump(counts, sys.stdout)
    print()


if __name__ == "__main__":
    main()
