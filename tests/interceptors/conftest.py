from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flumepy.core.context import Context

PREFIX = "a1.sources.r1.interceptors.i1."


def context(props: dict[str, str]) -> Context:
    """A Context as the builder makes it: full key prefix, file name and one line per key."""
    return Context(props, {k: n for n, k in enumerate(props, start=3)}, PREFIX, "agent.conf")


@pytest.fixture
def make() -> Callable[..., Any]:
    def _make(cls: type, props: dict[str, str] | None = None) -> Any:
        comp = cls("i1")
        comp.configure(context(props or {}))
        return comp
    return _make
