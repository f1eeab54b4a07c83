"""``next_async`` and ``values_async``: the stream reads of ``_streams`` for
asyncio, waiting on the shared waiter threads of ``_multiplex``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from . import _args
from ._errors import DestroyedError
from ._multiplex import multiplexer
from ._slices import deadline
from ._streams import Message, first_cursor, read_one, start

if TYPE_CHECKING:
    from ._segment import Segment


async def next_async(seg: "Segment", after: Optional[int], timeout: Optional[float]) -> Optional[Message]:
    """``Segment.next_async``. The first look happens here, without waiting
    (a value already there costs no thread hop); only then does the wait
    join the waiter thread."""
    cursor = start(after)
    total_ms = _args.timeout_ms(timeout)
    message = read_one(seg, cursor, 0)
    if message is not None or total_ms == 0:
        return message
    result: Optional[Message] = await multiplexer().wait(
        lambda ms: read_one(seg, cursor, ms), seg._handle, deadline(total_ms)
    )
    return result


class AsyncValues:
    """The async iterator of ``Segment.values_async``. Its cursor moves only
    when a value is handed out, so a cancelled ``__anext__`` (for instance
    under ``asyncio.wait_for``) loses nothing and the iteration can go on."""

    __slots__ = ("_seg", "_after", "_timeout", "_cursor", "_done")

    def __init__(self, seg: "Segment", after: Optional[int], timeout: Optional[float]) -> None:
        start(after)  # refuse a bad argument now, not at the first value
        _args.timeout_ms(timeout)
        self._seg = seg
        self._after = after
        self._timeout = timeout
        self._cursor: Optional[int] = None
        self._done = False

    def __aiter__(self) -> "AsyncValues":
        return self

    async def __anext__(self) -> Message:
        if self._done:
            raise StopAsyncIteration
        try:
            if self._cursor is None:
                self._cursor, first = first_cursor(self._seg, self._after)
                if first is not None:
                    return first
            message = await next_async(self._seg, self._cursor, self._timeout)
        except DestroyedError:
            message = None
        if message is None:
            self._done = True
            raise StopAsyncIteration
        self._cursor = message.version
        return message
