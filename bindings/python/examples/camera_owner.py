"""Terminal 1: owns the segment "camera" and publishes a frame every 100 ms
until Ctrl-C. Run camera_reader.py in another terminal meanwhile."""
import itertools
import time

import shmiface

with shmiface.init_instance("camera", capacity=1 << 20) as seg:  # the owner; mode 0o600 by default
    print("owner: publishing frames on camera; Ctrl-C to stop", flush=True)
    try:
        for n in itertools.count(1):
            seg.set_string_notify(f"frame {n}")  # wakes every waiter, in every process
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
print("owner: destroyed camera")  # leaving `with` destroys the segment (so does exiting)
