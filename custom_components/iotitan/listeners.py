"""A list of callbacks called together, the pattern every IoTitan part uses."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import CALLBACK_TYPE, callback


class Listeners[**P]:
    """Callbacks to call together; `add` returns the function that removes one."""

    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        """Start with none."""
        self._callbacks: list[Callable[P, None]] = []

    @callback
    def add(self, listener: Callable[P, None]) -> CALLBACK_TYPE:
        """Add `listener`; call the result to remove it again."""
        self._callbacks.append(listener)

        @callback
        def remove() -> None:
            self._callbacks.remove(listener)

        return remove

    @callback
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener (a listener may remove itself meanwhile)."""
        for listener in list(self._callbacks):
            listener(*args, **kwargs)
