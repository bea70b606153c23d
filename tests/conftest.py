from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.registry import Registry
from tests.fixtures.hdfs import HdfsCluster, SharedCluster, acquire_shared
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


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Kafka-protocol broker (Tansu, memory storage) for this test session (one per xdist worker)."""
    from tests.fixtures.kafka import KafkaBroker

    broker = KafkaBroker(tmp_path_factory.mktemp("kafka")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real ZooKeeper server (Debian's package) for this test session (one per xdist worker)."""
    from tests.fixtures.kafka import ZooKeeper

    zk = ZooKeeper(tmp_path_factory.mktemp("zookeeper")).start()
    yield zk
    zk.stop()


@pytest.fixture(scope="session")
def hdfs_cluster() -> Iterator[SharedCluster]:
    """A real HDFS (NameNode + DataNode on 127.0.0.1) shared by every xdist worker of the run; started on
    first use, stopped when the last worker ends. Don't stop its DataNode: use hdfs_private_cluster."""
    cluster = acquire_shared()
    yield cluster
    cluster.stop()


@pytest.fixture
def hdfs_private_cluster(tmp_path: Path) -> Iterator[HdfsCluster]:
    """A cluster of this test's own (~10 s to start), for stopping/restarting the DataNode or NameNode."""
    cluster = HdfsCluster(tmp_path / "hdfs").start()
    yield cluster
    cluster.stop()
