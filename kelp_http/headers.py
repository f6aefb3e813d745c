"""Case-insensitive HTTP header collection, built once per message on the hot path.

Imports nothing from kelp; it must stay free of asyncio and of any server or client code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    """An ordered list of (name, value) pairs with case-insensitive lookup.

    Names keep the spelling they arrived with (``items()``); ``get`` returns the first value for a
    name. The lookup dict is filled while the pairs are added, so building costs one ``lower()``
    per header and lookups are a single dict probe.
    """

    __slots__ = ("_first", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}
        for name, value in items:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name.lower(), default)

    def getall(self, name: str) -> list[str]:
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return (n for n, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"
