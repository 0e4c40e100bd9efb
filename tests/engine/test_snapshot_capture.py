"""Taking a snapshot a few topics at a time, copying a topic before it changes.

A capture armed at one moment must give the snapshot an all-at-once copy made
at that moment would give (compared as the encoded bytes), however its topics
change while it copies the others; each step copies about its budget of
samples, so the event loop never waits for all of them.
"""

from __future__ import annotations

import random

import pytest

from custom_components.iotitan.engine.journal import JournalPosition
from custom_components.iotitan.engine.snapshot import (
    HubSnapshot,
    SnapshotCapture,
    SourceSnapshot,
    TopicSnapshot,
    encode,
)
from custom_components.iotitan.engine.window import SlidingWindow

T0 = 1_700_000_000.0
POSITION = JournalPosition(42, 4096, b"tail\n")


class Topic:
    """A topic's windows, changed the way the hub changes them."""

    def __init__(self, name: str, samples: int, seed: int) -> None:
        self.name = name
        self.capture: SnapshotCapture | None = None
        self.windows = {60.0: SlidingWindow(60.0), 3600.0: SlidingWindow(3600.0)}
        self.last = T0
        self.rng = random.Random(seed)
        for _ in range(samples):
            self.add_reading()

    def add_reading(self) -> None:
        """A new reading; a capture that has not copied the topic copies it first."""
        if self.capture is not None:
            self.capture.copy(self)
        self.last += self.rng.uniform(0.5, 20)
        for window in self.windows.values():
            window.add(self.last, self.rng.gauss(20, 3))

    def export_snapshot(self) -> TopicSnapshot:
        return TopicSnapshot(
            topic=self.name,
            windows=tuple(
                (seconds, window.export_state())
                for seconds, window in self.windows.items()
            ),
            last_payload=None,
            last_payload_at=None,
            last_record_at=self.last,
            last_value=None,
            last_received=self.last,
        )

    def samples(self) -> int:
        return sum(len(window) for window in self.windows.values())


def sources(count: int) -> list[tuple[str, bytes, list[Topic]]]:
    return [
        ("kitchen", b"\x01", [Topic(f"k/{i}", 20 + 7 * i, i) for i in range(count)]),
        ("empty", b"\x02", []),
        ("hall", b"\x03", [Topic(f"h/{i}", 50, 100 + i) for i in range(count)]),
    ]


def at_once(hub: list[tuple[str, bytes, list[Topic]]]) -> bytes:
    """What copying every topic in one go gives, encoded."""
    return encode(
        HubSnapshot(
            taken_at=T0,
            position=POSITION,
            sources=tuple(
                SourceSnapshot(
                    source_id,
                    fingerprint,
                    tuple(topic.export_snapshot() for topic in topics),
                )
                for source_id, fingerprint, topics in hub
            ),
        )
    )


def test_topics_changed_while_copying_are_copied_as_they_were() -> None:
    hub = sources(6)
    expected = at_once(hub)
    topics = [topic for _, _, source_topics in hub for topic in source_topics]
    capture = SnapshotCapture(hub, POSITION, T0)
    assert all(topic.capture is capture for topic in topics)
    rng = random.Random(7)
    steps = 0
    while not capture.copy_some(samples=30):
        steps += 1
        # Between steps: readings on copied topics and on topics not copied yet.
        for topic in rng.sample(topics, 4):
            topic.add_reading()
    assert steps >= 3
    assert capture.copied_on_write > 0
    assert all(topic.capture is None for topic in topics)
    assert encode(capture.snapshot()) == expected
    # The live topics did change: the snapshot is not simply "now".
    assert at_once(hub) != expected


def test_each_step_copies_about_its_budget() -> None:
    hub = sources(10)
    topics = [topic for _, _, source_topics in hub for topic in source_topics]
    largest = max(topic.samples() for topic in topics)
    capture = SnapshotCapture(hub, POSITION, T0)
    copied_before = 0
    calls = 0
    done = False
    while not done:
        done = capture.copy_some(samples=100)
        calls += 1
        copied = sum(topic.capture is None for topic in topics)
        step = sum(topic.samples() for topic in topics[copied_before:copied])
        assert step < 100 + largest  # stops once past the budget
        assert done or step >= 100
        copied_before = copied
    assert calls >= sum(topic.samples() for topic in topics) // (100 + largest)
    assert encode(capture.snapshot()) == at_once(hub)


def test_new_and_dropped_topics() -> None:
    """A topic that appears after arming is left out; a dropped one is kept."""
    hub = sources(2)
    expected = at_once(hub)
    capture = SnapshotCapture(hub, POSITION, T0)
    dropped = hub[0][2][1]
    late = Topic("k/late", 5, 99)
    hub[0][2].append(late)  # the capture took its own list of the topics
    hub[0][2].remove(dropped)
    assert capture.copy_some(samples=10**9)
    assert late.capture is None
    assert encode(capture.snapshot()) == expected


def test_cancelled_capture_lets_go_of_its_topics() -> None:
    hub = sources(3)
    topics = [topic for _, _, source_topics in hub for topic in source_topics]
    capture = SnapshotCapture(hub, POSITION, T0)
    assert not capture.copy_some(samples=1)
    capture.cancel()
    assert all(topic.capture is None for topic in topics)
    with pytest.raises(RuntimeError):
        capture.snapshot()
    # A new capture can be armed on the same topics.
    again = SnapshotCapture(hub, POSITION, T0)
    assert again.copy_some(samples=10**9)
    assert encode(again.snapshot()) == at_once(hub)


def test_one_capture_at_a_time_and_not_before_it_is_done() -> None:
    hub = sources(2)
    capture = SnapshotCapture(hub, POSITION, T0)
    with pytest.raises(RuntimeError):
        SnapshotCapture(hub, POSITION, T0)
    # The refused capture armed nothing: the first still holds every topic.
    assert all(topic.capture is capture for _, _, ts in hub for topic in ts)
    with pytest.raises(RuntimeError):
        capture.snapshot()
