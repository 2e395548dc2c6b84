"""Pending inputs of one realtime session (spec chapters 07-flow-control, 08-streaming).

Holds decoded inputs and rejections in arrival order, so the outputs of inputs accepted before
a bad one go out before its error frame (RT-ERR-004, robust profile). `buffering=N` keeps the
N latest inputs (latest wins, RT-FLOW-003) and drops the oldest without an error frame
(RT-FLOW-004); up to `max_batch_size` consecutive inputs form one batch. The read-hold flag
tells the I/O layer to stop reading while too many inputs wait (RT-FLOW-021). With the
`correlation` extension on (`track_indexes`), every item keeps its input index (RT-EXT-030/031);
off, no index is stored at all.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

#: Inputs waiting in one session before the server stops reading (RT-FLOW-021); reading
#: resumes below half of it.
MAX_PENDING = 256
#: Bytes of queued inputs (their message sizes) before the server stops reading
#: (RT-SEC-013): a count alone let 256 inputs of 8 MB hold 2 GB.
MAX_QUEUED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input the session refused; reported as an INVALID_INPUT error frame in order."""

    reason: str
    index: int | None = None  # the input index, with `correlation` on (RT-EXT-030)


class InputQueue:
    """Pending inputs and rejections, in order, with latest-wins buffering and batching."""

    __slots__ = (
        "_bytes",
        "_indexes",
        "_inputs",
        "_items",
        "_sizes",
        "buffering",
        "held",
        "last_indexes",
        "max_bytes",
        "max_pending",
    )

    def __init__(
        self,
        buffering: int | None = None,
        max_pending: int = MAX_PENDING,
        track_indexes: bool = False,
        max_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self.buffering = buffering
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self._items: deque[Any] = deque()
        self._sizes: deque[int] = deque()  # message bytes of each item (0 for a rejection)
        self._bytes = 0
        # The input index of each item, aligned with `_items` (correlation only).
        self._indexes: deque[int] | None = deque() if track_indexes else None
        self.last_indexes: list[int] = []  # the indexes of the batch `take_batch` returned
        self._inputs = 0  # how many items are inputs (for latest-wins buffering)
        self.held = False  # whether the I/O layer should stop reading

    def __len__(self) -> int:
        return len(self._items)

    def add_input(self, value: Any, index: int = 0, size: int = 0) -> int | None:
        """Queue an accepted input of `size` message bytes; drop the oldest if over
        `buffering` (RT-FLOW-003/004).

        Returns the index of the input dropped, when indexes are tracked (RT-EXT-032).
        """
        self._items.append(value)
        self._sizes.append(size)
        self._bytes += size
        indexes = self._indexes
        if indexes is not None:
            indexes.append(index)
        self._inputs += 1
        dropped = None
        if self.buffering is not None and self._inputs > self.buffering:
            for i, item in enumerate(self._items):
                if type(item) is not Rejected:
                    del self._items[i]
                    self._bytes -= self._sizes[i]
                    del self._sizes[i]
                    if indexes is not None:
                        dropped = indexes[i]
                        del indexes[i]
                    self._inputs -= 1
                    break
        self._update_hold()
        return dropped

    def add_rejection(self, reason: str, index: int | None = None) -> None:
        """Queue a rejection; it is never dropped by buffering."""
        self._items.append(Rejected(reason, index))
        self._sizes.append(0)
        if self._indexes is not None:
            self._indexes.append(-1 if index is None else index)
        self._update_hold()

    def take_rejection(self) -> Rejected | None:
        """The rejection at the head of the queue, if the head is one."""
        items = self._items
        if items and type(items[0]) is Rejected:
            rejected: Rejected = items.popleft()
            self._sizes.popleft()
            if self._indexes is not None:
                self._indexes.popleft()
            self._update_hold()
            return rejected
        return None

    def take_batch(self, limit: int) -> list[Any]:
        """Up to `limit` inputs from the head, stopping at a rejection or `can_batch` refusal."""
        items = self._items
        batch: list[Any] = []
        while items and len(batch) < limit and type(items[0]) is not Rejected:
            if batch:
                can_batch = getattr(batch[0], "can_batch", None)
                if can_batch is not None and not can_batch(items[0], len(batch)):
                    break
            batch.append(items.popleft())
            self._bytes -= self._sizes.popleft()
            self._inputs -= 1
        indexes = self._indexes
        if indexes is not None:
            self.last_indexes = [indexes.popleft() for _ in batch]
        self._update_hold()
        return batch

    def reject_inputs(self, reason: str) -> None:
        """Turn every queued input into a rejection with `reason` (RT-STREAM-002/003)."""
        self._items = deque(self._as_rejections(reason))
        self._sizes = deque(0 for _ in self._items)
        self._bytes = 0
        self._inputs = 0

    def take_all(self, reason: str) -> list[Rejected]:
        """Everything left, in order, as rejections (inputs get `reason`)."""
        items = list(self._as_rejections(reason))
        self.clear()
        return items

    def _as_rejections(self, reason: str) -> list[Rejected]:
        indexes = self._indexes
        if indexes is None:
            return [item if type(item) is Rejected else Rejected(reason) for item in self._items]
        return [
            item if type(item) is Rejected else Rejected(reason, index)
            for item, index in zip(self._items, indexes, strict=True)
        ]

    def clear(self) -> None:
        """Discard everything (the client left, RT-LIFE-025)."""
        self._items.clear()
        self._sizes.clear()
        self._bytes = 0
        if self._indexes is not None:
            self._indexes.clear()
        self._inputs = 0
        self.held = False

    def _update_hold(self) -> None:
        pending = len(self._items)
        if pending >= self.max_pending or self._bytes >= self.max_bytes:
            self.held = True
        elif pending < self.max_pending // 2 and self._bytes < self.max_bytes // 2:
            self.held = False
