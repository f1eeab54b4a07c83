"""Zero-copy round trips with numpy arrays."""

from __future__ import annotations

import numpy as np

import shmiface


def test_numpy_round_trip(name: str) -> None:
    frame = np.random.default_rng(7).integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
    with shmiface.init_instance(name, capacity=frame.nbytes) as seg:
        version = seg.set_bytes(frame, notify=True)
        out = np.empty_like(frame)
        assert seg.read_into(out) == frame.nbytes
        assert np.array_equal(out, frame)
        assert seg.version == version
        floats = np.linspace(0, 1, 1000)
        seg.set_bytes(floats)
        back = np.frombuffer(seg.get_bytes(), dtype=np.float64)
        assert np.array_equal(back, floats)
