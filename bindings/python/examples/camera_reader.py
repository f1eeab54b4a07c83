"""Terminal 2: attaches to "camera" (camera_owner.py must be running) and
prints three frames as they come: two with wait(), one from asyncio."""
import asyncio

import shmiface

seg = shmiface.get_instance("camera")  # attach; FileNotFoundError if no one created it
for _ in range(2):
    if seg.wait(timeout=1.0):  # True on a notification; releases the GIL meanwhile
        print("reader:", seg.get_string(), "version", seg.version)


async def next_frame() -> str:
    await seg.wait_async(timeout=1.0)  # the same wait, without blocking the event loop
    buf = bytearray(seg.info().capacity)
    n = seg.read_into(buf)  # straight into any writable buffer (a numpy array too)
    return buf[:n].decode()


print("reader:", asyncio.run(next_frame()), "(asyncio)")
seg.destroy()  # an attacher's destroy releases its own handle only
