"""Zero-copy round trips with numpy arrays."""

from __future__ import annotations

import numpy as np
import pytest

import shmiface


def test_numpy_round_trip(name: str) -> None:
    frame = np.random.default_rng(7).integers(0, 255, size=(480, 640, 3), dtype=np.uint8)
    with shmiface.init_instance(name, capacity=frame.nbytes) as seg:
        version = seg.set_bytes(frame, notify=True)
        out = np.empty_like(frame)
        assert seg.read_into(out) == frame.nbytes
        assert np.array_equal(out, frame)
        assert seg.version == version
        assert np.array_equal(np.frombuffer(seg.get_bytes(), dtype=np.uint8).reshape(frame.shape), frame)


def test_numpy_typed_arrays_and_views(name: str) -> None:
    with shmiface.init_instance(name, capacity=1 << 16) as seg:
        floats = np.linspace(0, 1, 1000)
        seg.set_bytes(floats)
        assert seg.info().length == floats.nbytes
        back = np.empty(1000, dtype=np.float64)
        assert seg.read_into(back) == floats.nbytes
        assert np.array_equal(back, floats)
        assert np.array_equal(np.frombuffer(seg.get_bytes(), dtype=np.float64), floats)
        # Into part of a bigger array, through a contiguous slice.
        big = np.zeros(2000, dtype=np.float64)
        assert seg.read_into(big[500:1500]) == floats.nbytes
        assert np.array_equal(big[500:1500], floats) and not big[:500].any() and not big[1500:].any()
        # A non-contiguous array has no single buffer to send.
        with pytest.raises((ValueError, BufferError, TypeError)):
            seg.set_bytes(np.zeros((4, 4))[:, 1])
        # A read-only array cannot be read into.
        frozen = np.zeros(8, dtype=np.uint8)
        frozen.flags.writeable = False
        with pytest.raises((ValueError, BufferError, TypeError)):
            seg.read_into(frozen)


def test_numpy_buffer_too_small(name: str) -> None:
    with shmiface.init_instance(name, capacity=1024) as seg:
        seg.set_bytes(np.arange(100, dtype=np.int32))
        small = np.zeros(10, dtype=np.int32)
        with pytest.raises(shmiface.BufferTooSmallError):
            seg.read_into(small)
        assert not small.any()
