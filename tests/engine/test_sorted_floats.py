"""Tests for SortedFloats: against ``sorted()`` of the same multiset.

Small loads (sublists of 2 to 8 values) make every operation split, merge or
empty sublists, so short streams reach every path of the structure.
"""

from __future__ import annotations

from array import array
import math
import random
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iotitan.engine.sorted_floats import DEFAULT_LOAD, SortedFloats

SETTINGS = settings(max_examples=300, deadline=None)

# Few distinct values (duplicates, ties, zeros of both signs) or any finite float.
VALUES = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([0.0, -0.0, 1.5, -1.5]),
    st.floats(allow_nan=False, allow_infinity=False),
)


def check_invariants(data: SortedFloats, expected: list[float]) -> None:
    """The structure holds `expected` (sorted), and its parts agree."""
    assert len(data) == len(expected)
    assert list(data) == expected
    lists = data._lists
    assert all(isinstance(sub, array) and sub.typecode == "d" for sub in lists)
    assert all(sub for sub in lists), "no empty sublist"
    assert all(len(sub) <= 2 * data._load for sub in lists)
    assert data._maxes == [sub[-1] for sub in lists]
    for i, value in enumerate(expected):
        assert data[i] == value, i
        assert data[i - len(expected)] == value, i
    for bad in (len(expected), -len(expected) - 1):
        with pytest.raises(IndexError):
            data[bad]
    if data._index:  # a kept index equals a fresh one
        kept = list(data._index)
        assert kept == data._build_index()


def apply(data: SortedFloats, expected: list[float], op: str, value: float) -> None:
    """Add or remove `value` in both, or check that removing it fails in both."""
    if op == "add":
        data.add(value)
        expected.append(value)
        expected.sort()
    elif value in expected:  # == : 0.0 and -0.0 are the same value
        data.remove(value)
        expected.remove(value)
    else:
        with pytest.raises(ValueError, match="not in SortedFloats"):
            data.remove(value)


OPS = st.lists(
    st.tuples(st.sampled_from(["add", "add", "remove", "index"]), VALUES),
    max_size=120,
)


@SETTINGS
@given(load=st.integers(4, 8), initial=st.lists(VALUES, max_size=40), ops=OPS)
def test_matches_sorted(load: int, initial: list[float], ops: list[Any]) -> None:
    """After every add, remove or positional look-up, it is sorted(multiset)."""
    data = SortedFloats(initial, load=load)
    expected = sorted(initial)
    check_invariants(data, expected)
    for op, value in ops:
        if op == "index":
            if expected:  # builds the positional index, kept from then on
                i = int(abs(value)) % len(expected) if math.isfinite(value) else 0
                assert data[i] == expected[i]
            continue
        apply(data, expected, op, value)
        check_invariants(data, expected)


@SETTINGS
@given(
    load=st.integers(4, 8),
    values=st.lists(VALUES, min_size=1, max_size=150),
    seed=st.integers(0, 2**32),
)
def test_remove_everything_in_any_order(
    load: int, values: list[float], seed: int
) -> None:
    """Removing every value (duplicates one at a time) empties it; it starts over."""
    data = SortedFloats(load=load)
    for value in values:
        data.add(value)
    expected = sorted(values)
    check_invariants(data, expected)
    order = list(values)
    random.Random(seed).shuffle(order)
    for value in order:
        data.remove(value)
        expected.remove(value)
        assert data[0] == expected[0] if expected else len(data) == 0
        assert data[-1] == expected[-1] if expected else not list(data)
    check_invariants(data, [])
    data.add(2.0)
    check_invariants(data, [2.0])


@settings(max_examples=100, deadline=None)
@given(load=st.integers(4, 8), data=st.data())
def test_sliding_window_pattern(load: int, data: st.DataObject) -> None:
    """Oldest out, newest in, as the window uses it; the index kept all along."""
    values = data.draw(st.lists(VALUES, min_size=2, max_size=200))
    width = data.draw(st.integers(1, 40))
    structure = SortedFloats(load=load)
    expected: list[float] = []
    for i, value in enumerate(values):
        structure.add(value)
        expected.append(value)
        if i >= width:
            structure.remove(values[i - width])
            expected.remove(values[i - width])
        expected.sort()
        middle = len(expected) // 2
        assert structure[middle] == expected[middle]  # keeps the index up to date
    check_invariants(structure, expected)


def test_many_equal_values() -> None:
    """Thousands of one value span many sublists; removal finds each of them."""
    data = SortedFloats(load=4)
    for _ in range(1000):
        data.add(5.0)
    data.add(4.0)
    data.add(6.0)
    assert len(data._lists) > 100
    check_invariants(data, [4.0] + [5.0] * 1000 + [6.0])
    for left in range(999, -1, -1):
        data.remove(5.0)
        assert len(data) == left + 2
        assert data[left // 2 + 1] == 5.0 if left else data[1] == 6.0
    check_invariants(data, [4.0, 6.0])
    with pytest.raises(ValueError, match="not in SortedFloats"):
        data.remove(5.0)


def test_negative_zero_and_zero_are_one_value() -> None:
    """-0.0 and 0.0 compare equal: either removes the other."""
    data = SortedFloats([-0.0, 1.0, -1.0])
    data.add(0.0)
    assert list(data) == [-1.0, 0.0, 0.0, 1.0]
    data.remove(0.0)
    data.remove(-0.0)
    assert list(data) == [-1.0, 1.0]
    with pytest.raises(ValueError, match="not in SortedFloats"):
        data.remove(0.0)


def test_remove_missing_values() -> None:
    """A value not there is a ValueError, beyond either end or in between."""
    data = SortedFloats([1.0, 2.0, 3.0])
    for missing in (0.5, 1.5, 3.5):
        with pytest.raises(ValueError, match="not in SortedFloats"):
            data.remove(missing)
    assert list(data) == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="not in SortedFloats"):
        SortedFloats().remove(1.0)


def test_update_merges_with_what_is_there() -> None:
    """update() adds a batch: into an empty structure or merged with its values."""
    data = SortedFloats(load=4)
    data.update([])
    assert len(data) == 0
    data.update([3.0, 1.0, 2.0])
    data.update([2.5, 0.5, 9.0, 1.0, 4.0, 4.0, 7.0, 6.0])
    check_invariants(
        data, sorted([3.0, 1.0, 2.0, 2.5, 0.5, 9.0, 1.0, 4.0, 4.0, 7.0, 6.0])
    )
    data.clear()
    check_invariants(data, [])


def test_large_random_stream_with_the_default_load() -> None:
    """Tens of thousands of values: sublists of the default size split and merge."""
    rng = random.Random(17)
    data = SortedFloats()
    expected: list[float] = []
    for _ in range(20_000):
        value = round(rng.gauss(20.0, 3.0), 1)
        data.add(value)
        expected.append(value)
    expected.sort()
    assert len(data._lists) > 10
    check_invariants(data, expected)
    rng.shuffle(expected)
    removed, expected = expected[:15_000], sorted(expected[15_000:])
    for value in removed:
        data.remove(value)
    check_invariants(data, expected)
    assert all(len(sub) > DEFAULT_LOAD // 2 for sub in data._lists)


@pytest.mark.parametrize("load", [0, 3, -1, 2.5, True, "8"])
def test_invalid_load(load: Any) -> None:
    """The load is an int of at least 4."""
    with pytest.raises(ValueError, match="load"):
        SortedFloats(load=load)


def test_repr_and_clear() -> None:
    """repr names the size and load, not the values; clear() empties it."""
    data = SortedFloats([1.0, 2.0], load=16)
    assert repr(data) == "SortedFloats(len=2, load=16)"
    data.clear()
    assert len(data) == 0
    assert not list(data)
    with pytest.raises(IndexError):
        data[0]
