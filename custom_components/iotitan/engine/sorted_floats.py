"""A sorted multiset of floats stored as C doubles, about 8 bytes a value.

:class:`SortedFloats` is the order-statistic structure of the sliding window
(median, percentiles, min and max). It is laid out like
:class:`sortedcontainers.SortedList` (Grant Jenks): the values are cut into
sorted sublists of ``load / 2`` to ``2 * load`` values, the largest value of
each sublist is kept in a list for bisection, and a positional index over the
sublists' lengths is built when first needed and then kept up to date. The
difference is the storage: each sublist is an :class:`array.array` of C doubles,
8 bytes a value, where a list holds an 8-byte reference to a 24-byte float
object (32 bytes a value unless the float is shared with another structure).

Runtime complexity, ``n`` values in ``m = n / load`` sublists:

- :meth:`SortedFloats.add` and :meth:`SortedFloats.remove`: O(log n) comparisons
  plus a move of at most ``2 * load`` doubles (one ``memmove``); O(m) when a
  sublist is split or merged, once every ``load / 2`` or more operations on it;
- indexing: O(1) for the first and last sublists (min and max), else O(log m)
  through the positional index (a Fenwick tree of the sublists' lengths), which
  costs O(m) to build after a split or merge and O(log m) per operation to keep.

Values that compare equal are interchangeable: removing ``0.0`` may remove a
stored ``-0.0`` and the other way round (store one of them only if the sign
matters). NaN is not supported (it is unordered).

Memory: 8 bytes a value, plus the arrays' growth margin (a sublist grows by
1/16 of its size when full and keeps its allocation when values leave it; splits
and merges make exact-size arrays), plus about 150 bytes a sublist.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from itertools import chain

__all__ = ["DEFAULT_LOAD", "SortedFloats"]

DEFAULT_LOAD = 1000
"""Sublists hold ``load / 2`` to ``2 * load`` values, as in SortedList."""


class SortedFloats:
    """Floats in ascending order, with O(log n) insertion, removal and indexing."""

    __slots__ = ("_index", "_len", "_lists", "_load", "_maxes")

    def __init__(self, values: Iterable[float] = (), load: int = DEFAULT_LOAD) -> None:
        """Create the multiset of ``values``; ``load`` sets the sublist size (>= 4)."""
        if isinstance(load, bool) or not isinstance(load, int) or load < 4:
            raise ValueError(f"load must be an int >= 4, not {load!r}")
        self._load = load
        self._lists: list[array[float]] = []
        self._maxes: list[float] = []
        # Fenwick tree over the sublists' lengths (1-based: _index[0] is unused);
        # empty when it must be rebuilt before the next positional look-up.
        self._index: list[int] = []
        self._len = 0
        self.update(values)

    def __len__(self) -> int:
        """Return the number of values. O(1)."""
        return self._len

    def __iter__(self) -> Iterator[float]:
        """Iterate in ascending order."""
        return chain.from_iterable(self._lists)

    def __repr__(self) -> str:
        """Return a short description (not the values)."""
        return f"{type(self).__name__}(len={self._len}, load={self._load})"

    def clear(self) -> None:
        """Remove every value and give the memory back. O(1)."""
        self._lists = []
        self._maxes = []
        self._index = []
        self._len = 0

    def update(self, values: Iterable[float]) -> None:
        """Add every value of ``values``: O(k log k + n) for k values."""
        new = sorted(values)
        if not new:
            return
        if self._lists:
            # Merge with what is here; sorted() is linear on two sorted runs.
            new = sorted(chain(self, new))
        load = self._load
        self._lists = [array("d", new[i : i + load]) for i in range(0, len(new), load)]
        self._maxes = [sub[-1] for sub in self._lists]
        self._index = []
        self._len = len(new)

    @classmethod
    def from_sorted(
        cls, values: array[float], load: int = DEFAULT_LOAD
    ) -> SortedFloats:
        """The multiset of `values`, already in ascending order (as `to_array` gives).

        O(n) memory copies at C speed and O(n / load) Python steps: nothing is
        compared or sorted, so the caller vouches for the order (a snapshot
        whose checksum matched); an unsorted array gives wrong order
        statistics, never an exception. Use the constructor for values in any
        order.
        """
        if values.typecode != "d":
            raise ValueError(f"an array of doubles is needed, not {values.typecode!r}")
        result = cls(load=load)
        if values:
            lists = [values[i : i + load] for i in range(0, len(values), load)]
            result._lists = lists
            result._maxes = [sub[-1] for sub in lists]
            result._len = len(values)
        return result

    def to_array(self) -> array[float]:
        """Every value in ascending order, as one array of doubles (a copy). O(n)."""
        lists = self._lists
        if len(lists) == 1:
            return lists[0][:]
        out = array("d")
        for sub in lists:
            out += sub
        return out

    def add(self, value: float) -> None:
        """Insert ``value`` after any equal values. O(log n); see the module."""
        maxes = self._maxes
        if not maxes:
            self._lists.append(array("d", (value,)))
            maxes.append(value)
            self._index = []
            self._len = 1
            return
        pos = bisect_right(maxes, value)
        if pos == len(maxes):
            pos -= 1
            sub = self._lists[pos]
            sub.append(value)
            maxes[pos] = value
        else:
            sub = self._lists[pos]
            sub.insert(bisect_right(sub, value), value)
        self._len += 1
        if len(sub) > self._load << 1:
            self._split(pos)
            return
        index = self._index
        if index:
            size = len(index)
            pos += 1
            while pos < size:
                index[pos] += 1
                pos += pos & -pos

    def remove(self, value: float) -> None:
        """Remove one value equal to ``value``; ``ValueError`` if there is none.

        O(log n); see the module.
        """
        maxes = self._maxes
        pos = bisect_left(maxes, value)
        if pos == len(maxes):
            raise ValueError(f"{value!r} not in SortedFloats")
        sub = self._lists[pos]
        at = bisect_left(sub, value)
        if sub[at] != value:  # at < len(sub): maxes[pos] >= value
            raise ValueError(f"{value!r} not in SortedFloats")
        del sub[at]
        self._len -= 1
        size = len(sub)
        if size <= self._load >> 1 and (len(maxes) > 1 or not size):
            self._shrink(pos)
            return
        if at == size:
            maxes[pos] = sub[-1]
        index = self._index
        if index:
            size = len(index)
            pos += 1
            while pos < size:
                index[pos] -= 1
                pos += pos & -pos

    def _split(self, pos: int) -> None:
        """Cut the sublist at ``pos`` (over ``2 * load`` values) in two halves."""
        sub = self._lists[pos]
        half = len(sub) >> 1
        self._lists[pos : pos + 1] = [sub[:half], sub[half:]]
        self._maxes.insert(pos, sub[half - 1])
        self._index = []

    def _shrink(self, pos: int) -> None:
        """Merge the small sublist at ``pos`` into a neighbour; clear if it was the last."""
        lists = self._lists
        maxes = self._maxes
        if len(lists) == 1:
            self.clear()
            return
        if pos:  # merge into the previous sublist
            pos -= 1
        merged = lists[pos] + lists[pos + 1]  # exact size: gives back the margin
        if len(merged) > self._load << 1:
            half = len(merged) >> 1
            lists[pos : pos + 2] = [merged[:half], merged[half:]]
            maxes[pos : pos + 2] = [merged[half - 1], merged[-1]]
        else:
            lists[pos : pos + 2] = [merged]
            maxes[pos : pos + 2] = [merged[-1]]
        self._index = []

    def _build_index(self) -> list[int]:
        """Build the Fenwick tree of the sublists' lengths. O(m)."""
        index = [0, *map(len, self._lists)]
        size = len(index)
        for i in range(1, size):
            parent = i + (i & -i)
            if parent < size:
                index[parent] += index[i]
        self._index = index
        return index

    def _locate(self, i: int) -> tuple[int, int]:
        """Return ``(sublist, offset)`` of the value at index ``0 <= i < n``. O(log m)."""
        index = self._index or self._build_index()
        count = len(index) - 1
        pos = 0
        bit = 1 << (count.bit_length() - 1)
        while bit:
            nxt = pos + bit
            if nxt <= count and index[nxt] <= i:
                pos = nxt
                i -= index[nxt]
            bit >>= 1
        return pos, i

    def __getitem__(self, i: int) -> float:
        """Return the ``i``-th smallest value (negative ``i`` from the end).

        ``IndexError`` outside the multiset. O(1) in the first and last
        sublists, else O(log m).
        """
        n = self._len
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("SortedFloats index out of range")
        lists = self._lists
        first = lists[0]
        if i < len(first):
            return first[i]
        last = lists[-1]
        from_last = i - (n - len(last))
        if from_last >= 0:
            return last[from_last]
        pos, offset = self._locate(i)
        return lists[pos][offset]
