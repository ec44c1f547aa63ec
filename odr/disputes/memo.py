"""A memo for lookups that do not change during one batch job (the sweep): who the staff of
an enterprise are, which mediators a body has, which office is competent for a region.

Outside `scope()` nothing is remembered: every call computes, as before. Inside it, the
first answer for a key is kept until the scope ends, so ten thousand escalations ask the
database once per enterprise and once per body instead of once per case.
"""

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_store: ContextVar[dict | None] = ContextVar("odr_memo", default=None)


@contextmanager
def scope() -> Iterator[None]:
    token = _store.set({})
    try:
        yield
    finally:
        _store.reset(token)


def memo(key: Hashable, compute: Callable[[], T]) -> T:
    store = _store.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]


def unknown(keys: Iterable[Hashable]) -> list[Hashable]:
    """The keys without an answer yet (all of them outside `scope()`)."""
    store = _store.get()
    return [key for key in keys if store is None or key not in store]


def remember(key: Hashable, value: T) -> T:
    """Keep an answer found in bulk (a no-op outside `scope()`)."""
    store = _store.get()
    if store is not None:
        store[key] = value
    return value
