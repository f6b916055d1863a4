"""Keep every Nth frame of a source: the rate a slower device would detect at, on any clip."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from edge.sources.base import ClosingContext

if TYPE_CHECKING:
    from collections.abc import Iterator

    from edge.records import Frame
    from edge.sources.base import FrameSource


class EveryNthSource(ClosingContext):
    """Frames 0, N, 2N, ... of `source`, with their own indices and timestamps.

    Media time is unchanged, so the tracker's seconds-based time constants see the gaps a device
    detecting ``fps / N`` times a second would. ``fps`` is the rate of the frames kept.
    """

    def __init__(self, source: FrameSource, every: int) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        self._source = source
        self._every = every

    @property
    def fps(self) -> float:
        return self._source.fps / self._every

    @property
    def name(self) -> str:
        return f"{self._source.name} (1 frame in {self._every})" if self._every > 1 else self._source.name

    @property
    def frame_count(self) -> int | None:
        total = self._source.frame_count
        return None if total is None else math.ceil(total / self._every)

    def __iter__(self) -> Iterator[Frame]:
        for position, frame in enumerate(self._source):
            if position % self._every == 0:
                yield frame

    def close(self) -> None:
        self._source.close()


def every_nth(source: FrameSource, every: int) -> FrameSource:
    """`source` itself for ``every == 1``, else an `EveryNthSource`."""
    return source if every == 1 else EveryNthSource(source, every)
