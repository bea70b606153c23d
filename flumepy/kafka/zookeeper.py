"""Legacy ZooKeeper look-ups (Flume <= 1.6 configs): broker list and old consumer offsets.

Kafka brokers register as ``/brokers/ids/<id>`` holding JSON with ``host``, ``port`` and
``endpoints`` (``["PLAINTEXT://host:port", ...]``); Flume 1.7-1.11 turn a ``zookeeperConnect``
setting into ``bootstrap.servers`` this way.  Old (ZooKeeper-based) consumers kept offsets under
``/consumers/<group>/offsets/<topic>/<partition>``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flumepy.core.errors import FlumeError

log = logging.getLogger(__name__)


class ZooKeeperLookupError(FlumeError):
    """ZooKeeper could not be reached or holds no usable broker registration."""


def _client(connect: str, timeout: float) -> Any:
    try:
        from kazoo.client import KazooClient
        from kazoo.handlers.threading import KazooTimeoutError
    except ImportError:
        raise ZooKeeperLookupError("zookeeperConnect needs the kazoo package (pip install 'flumepy[kafka]'); "
                                   "or set kafka.bootstrap.servers instead") from None
    zk = KazooClient(hosts=connect, timeout=timeout, connection_retry={"max_tries": 1}, logger=log)
    try:
        zk.start(timeout=timeout)
    except KazooTimeoutError:
        zk.stop()
        zk.close()
        raise ZooKeeperLookupError(
            f"cannot reach ZooKeeper at {connect} (zookeeperConnect) within {timeout:g}s to look up the "
            "Kafka brokers; set kafka.bootstrap.servers to the brokers' host:port list instead") from None
    return zk


def _endpoint(doc: dict[str, Any], protocol: str) -> str | None:
    for ep in doc.get("endpoints") or ():
        proto, _, addr = str(ep).partition("://")
        if proto.upper() == protocol.upper() and addr:
            return addr
    if doc.get("host") and doc.get("port", -1) not in (-1, None):
        return f"{doc['host']}:{doc['port']}"
    eps = doc.get("endpoints") or ()
    return str(eps[0]).partition("://")[2] or None if eps else None


def lookup_brokers(connect: str, protocol: str = "PLAINTEXT", timeout: float = 5.0) -> str:
    """``bootstrap.servers`` (``host:port,...``) from the brokers registered in ZooKeeper."""
    zk = _client(connect, timeout)
    try:
        try:
            ids = zk.get_children("/brokers/ids")
        except Exception as e:
            raise ZooKeeperLookupError(
                f"no Kafka brokers registered in ZooKeeper at {connect} (/brokers/ids: {type(e).__name__}); "
                "set kafka.bootstrap.servers to the brokers' host:port list instead") from None
        addrs = []
        for bid in sorted(ids, key=lambda s: (len(s), s)):
            try:
                data, _ = zk.get(f"/brokers/ids/{bid}")
                addr = _endpoint(json.loads(data.decode("utf-8")), protocol)
            except Exception as e:
                log.warning("skipping broker registration /brokers/ids/%s in %s: %s", bid, connect, e)
                continue
            if addr:
                addrs.append(addr)
        if not addrs:
            raise ZooKeeperLookupError(
                f"no Kafka brokers registered in ZooKeeper at {connect} (/brokers/ids is empty); "
                "set kafka.bootstrap.servers to the brokers' host:port list instead")
        return ",".join(addrs)
    finally:
        zk.stop()
        zk.close()


def read_offsets(connect: str, group: str, topic: str, timeout: float = 5.0) -> dict[int, int]:
    """Offsets an old ZooKeeper-based consumer group committed for ``topic`` (partition -> offset)."""
    zk = _client(connect, timeout)
    try:
        base = f"/consumers/{group}/offsets/{topic}"
        if not zk.exists(base):
            return {}
        out = {}
        for child in zk.get_children(base):
            try:
                data, _ = zk.get(f"{base}/{child}")
                out[int(child)] = int(data.decode().strip())
            except ValueError:
                log.warning("ignoring unreadable ZooKeeper offset %s/%s", base, child)
        return out
    finally:
        zk.stop()
        zk.close()
