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


def kept(
    store: str, key: Hashable, version: Hashable, compute: Callable[[], T], *, bound=None
) -> T:
    """A value kept for the life of the process (in the app's `store`) while the `version`
    of what it is made from stays the same; with `bound`, the store is emptied when it is
    full (keys that callers make from request parameters)."""
    from flask import current_app

    kept_values = current_app.extensions.setdefault(store, {})
    found = kept_values.get(key)
    if found is not None and found[0] == version:
        return found[1]
    value = compute()
    if bound is not None and len(kept_values) >= bound:
        kept_values.clear()
    kept_values[key] = (version, value)
    return value


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
