#!/usr/bin/env python3
"""Consumes a PipeWire video stream with GStreamer and reports what arrived, as JSON.

    cast_consumer.py (--node ID | --portal) [--seconds S] [--warmup W] [--probe X,Y ...]
                     [--format BGRx|r210]
    cast_consumer.py --portal --screenshot

--node reads a node of this session's PipeWire directly; --portal asks the ScreenCast
portal (org.freedesktop.portal.Desktop) for a monitor source first: CreateSession,
SelectSources, Start, OpenPipeWireRemote, and reads the stream through the remote the
portal handed out. Prints one JSON object: frames counted after the warm-up, frames per
second, size, the RGB at each probe point of the last frame, and the portal's answers.
--screenshot asks the Screenshot portal instead and prints its response code and the
picture's URI.
"""
import argparse
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def portal_stream(args):
    import dbus
    from dbus.mainloop.glib import DBusGMainLoop

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    portal = bus.get_object("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop")
    cast = dbus.Interface(portal, "org.freedesktop.portal.ScreenCast")
    sender = bus.get_unique_name()[1:].replace(".", "_")
    loop = GLib.MainLoop()
    counter = [0]

    def call(method, *params, options):
        counter[0] += 1
        token = f"ghost{counter[0]}"
        path = f"/org/freedesktop/portal/desktop/request/{sender}/{token}"
        answer = {}

        def on_response(code, results):
            answer["code"] = int(code)
            answer["results"] = results
            loop.quit()

        bus.add_signal_receiver(on_response, "Response", "org.freedesktop.portal.Request", None, path)
        options["handle_token"] = token
        getattr(cast, method)(*params, options)
        timer = GLib.timeout_add_seconds(60, loop.quit)
        loop.run()
        if "code" in answer:
            GLib.source_remove(timer)
        if answer.get("code") != 0:
            raise SystemExit(f"{method} answered {answer.get('code')}")
        return answer["results"]

    session = call("CreateSession", options={"session_handle_token": "ghostsession"})["session_handle"]
    select = {"types": dbus.UInt32(args.types), "cursor_mode": dbus.UInt32(args.cursor_mode)}
    if args.persist:
        select["persist_mode"] = dbus.UInt32(2)
    if args.restore_token:
        select["restore_token"] = args.restore_token
    call("SelectSources", session, options=select)
    started = call("Start", session, "", options={})
    streams = started["streams"]
    node = int(streams[0][0])
    props = dict(streams[0][1])
    fd = cast.OpenPipeWireRemote(session, dbus.Dictionary({}, signature="sv")).take()
    info = {
        "node_id": node,
        "source_type": int(props.get("source_type", 0)),
        "restore_token": str(started.get("restore_token", "")),
        "size": [int(v) for v in props.get("size", [])],
        "audio_node_id": int(props["audio_node_id"]) if "audio_node_id" in props else None,
    }
    return node, fd, info


def portal_screenshot():
    """Asks the Screenshot portal for a picture; returns its answer."""
    import dbus
    from dbus.mainloop.glib import DBusGMainLoop

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    portal = bus.get_object("org.freedesktop.portal.Desktop", "/org/freedesktop/portal/desktop")
    shot = dbus.Interface(portal, "org.freedesktop.portal.Screenshot")
    sender = bus.get_unique_name()[1:].replace(".", "_")
    path = f"/org/freedesktop/portal/desktop/request/{sender}/ghostshot"
    loop = GLib.MainLoop()
    answer = {}

    def on_response(code, results):
        answer["code"] = int(code)
        answer["uri"] = str(results.get("uri", ""))
        loop.quit()

    bus.add_signal_receiver(on_response, "Response", "org.freedesktop.portal.Request", None, path)
    options = dbus.Dictionary(
        {"handle_token": dbus.String("ghostshot"), "interactive": dbus.Boolean(False)},
        signature="sv",
    )
    shot.Screenshot(dbus.String(""), options, signature="sa{sv}")
    GLib.timeout_add_seconds(30, loop.quit)
    loop.run()
    return answer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--node", type=int)
    p.add_argument("--portal", action="store_true")
    p.add_argument("--screenshot", action="store_true", help="use the Screenshot portal instead")
    p.add_argument("--types", type=int, default=1)
    p.add_argument("--cursor-mode", type=int, default=1)
    p.add_argument("--persist", action="store_true")
    p.add_argument("--restore-token", default="")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--probe", action="append", default=[])
    p.add_argument("--dump", help="write the last frame's BGRx bytes here")
    p.add_argument(
        "--format",
        default="BGRx",
        help="BGRx (converted from whatever the stream sends) or r210 (10-bit RGB as sent; probes give 10-bit values)",
    )
    args = p.parse_args()

    if args.screenshot:
        json.dump(portal_screenshot(), sys.stdout)
        print()
        return
    Gst.init(None)
    info = {}
    if args.portal:
        node, fd, info = portal_stream(args)
        source = f"pipewiresrc fd={fd} path={node}"
    else:
        source = f"pipewiresrc path={args.node}"
    convert = "videoconvert ! " if args.format == "BGRx" else ""
    pipeline = Gst.parse_launch(
        f"{source} ! {convert}video/x-raw,format={args.format} ! appsink name=sink emit-signals=true sync=false max-buffers=2 drop=true"
    )
    sink = pipeline.get_by_name("sink")
    state = {"frames": 0, "first": None, "last": None, "all": 0, "size": None, "probes": {}}
    start = time.monotonic()

    def on_sample(appsink):
        sample = appsink.emit("pull-sample")
        now = time.monotonic()
        state["all"] += 1
        if now - start >= args.warmup:
            if state["first"] is None:
                state["first"] = now
            state["frames"] += 1
            state["last"] = now
        # Read what is needed now: the buffer's memory belongs to PipeWire and is gone
        # once the stream stops.
        caps = sample.get_caps().get_structure(0)
        w, h = caps.get_value("width"), caps.get_value("height")
        state["size"] = (w, h)
        state["format"] = caps.get_value("format")
        buf = sample.get_buffer()
        ok, mapped = buf.map(Gst.MapFlags.READ)
        if ok:
            stride = len(mapped.data) // h
            if args.dump:
                with open(args.dump, "wb") as f:
                    f.write(bytes(mapped.data))
            for spec in args.probe:
                x, y = (int(v) for v in spec.split(","))
                i = y * stride + x * 4
                if args.format == "r210":
                    # One big-endian word: x:2 R:10 G:10 B:10.
                    word = int.from_bytes(mapped.data[i : i + 4], "big")
                    state["probes"][spec] = [(word >> 20) & 1023, (word >> 10) & 1023, word & 1023]
                else:
                    b, g, r = mapped.data[i : i + 3]
                    state["probes"][spec] = [r, g, b]
            buf.unmap(mapped)
        return Gst.FlowReturn.OK

    sink.connect("new-sample", on_sample)
    pipeline.set_state(Gst.State.PLAYING)
    loop = GLib.MainLoop()
    GLib.timeout_add(int((args.warmup + args.seconds) * 1000), loop.quit)
    loop.run()
    pipeline.set_state(Gst.State.NULL)

    out = dict(info)
    out["frames"] = state["frames"]
    out["frames_total"] = state["all"]
    out["fps"] = round(state["frames"] / args.seconds, 2) if args.seconds > 0 else 0
    if state["size"]:
        out["width"], out["height"] = state["size"]
    out["probes"] = state["probes"]
    out["format"] = state.get("format")
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
