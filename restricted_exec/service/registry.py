"""The programs and sessions a service's clients made, by id, each visible to its tenant only:
another tenant's id is as unknown as one never issued (404). Ids are 128 random bits."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Objects by (tenant, id), at most ``per_tenant`` each, the least recently used dropped
    (and handed back to ``add``'s caller, to close) first."""

    def __init__(self, per_tenant: int) -> None:
        self._per_tenant = per_tenant
        self._items: dict[str, OrderedDict[str, T]] = {}
        self._lock = threading.Lock()

    def add(self, tenant: str, item: T) -> tuple[str, list[T]]:
        """Keep ``item``; its new id, and what was dropped to make room."""
        item_id = secrets.token_urlsafe(16)
        dropped: list[T] = []
        with self._lock:
            items = self._items.setdefault(tenant, OrderedDict())
            items[item_id] = item
            while len(items) > self._per_tenant:
                dropped.append(items.popitem(last=False)[1])
        return item_id, dropped

    def get(self, tenant: str, item_id: str) -> T | None:
        with self._lock:
            items = self._items.get(tenant)
            item = items.get(item_id) if items is not None else None
            if item is not None and items is not None:
                items.move_to_end(item_id)
            return item

    def pop(self, tenant: str, item_id: str) -> T | None:
        with self._lock:
            items = self._items.get(tenant)
            return items.pop(item_id, None) if items is not None else None

    def all(self) -> list[T]:
        with self._lock:
            return [item for items in self._items.values() for item in items.values()]
