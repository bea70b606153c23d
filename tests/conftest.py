from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.registry import Registry
from tests.util import AgentProcess


@pytest.fixture
def registry() -> Registry:
    return Registry.from_entry_points()


@pytest.fixture
def agent_process() -> Iterator[type[AgentProcess]]:
    """Factory for agent subprocesses; any still running at the end of the test is killed."""
    started: list[AgentProcess] = []

    class _Tracked(AgentProcess):
        def start(self) -> AgentProcess:
            started.append(self)
            return super().start()

    yield _Tracked
    for p in started:
        p.kill()


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    return tmp_path
