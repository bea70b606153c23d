"""Legacy ZooKeeper look-ups (Flume <= 1.6 configs): broker list and old consumer offsets.

Kafka brokers register as ``/brokers/ids/<id>`` holding JSON with ``host``, ``port`` and
``endpoints`` (``["PLAINTEXT://host:port", ...]``); Flume 1.7-1.11 turn a ``zookeeperConnect``
setting into ``bootstrap.servers`` this way.  Old (ZooKeeper-based) consumers kept offsets under
``/consumers/<group>/offsets/<topic>/<partition>``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from flumepy.core.errors import FlumeError

log = logging.getLogger(__name__)


class ZooKeeperLookupError(FlumeError):
    """ZooKeeper could not be reached or holds no usable broker registration."""


_FOR_BROKERS = "to look up the Kafka brokers; set kafka.bootstrap.servers to the brokers' host:port list instead"
_FOR_OFFSETS = ("to read the group's old offsets (migrateZookeeperOffsets); set migrateZookeeperOffsets = false "
                "to start without them")


def _client(connect: str, timeout: float, why: str = _FOR_BROKERS) -> Any:
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
            f"cannot reach ZooKeeper at {connect} (zookeeperConnect) within {timeout:g}s {why}") from None
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
    zk = _client(connect, timeout, _FOR_OFFSETS)
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


def migrate_offsets(connect: str, conf: dict[str, Any], topics: Sequence[str], what: str,
                    timeout: float = 10.0) -> dict[str, dict[int, int]]:
    """Flume's ``migrateZookeeperOffsets``: for each topic in which the group (``conf["group.id"]``) has
    no offsets committed in Kafka, commit the ones its old consumers kept in ZooKeeper under
    ``/consumers/<group>/offsets/<topic>/<partition>``.

    ``conf`` is a complete consumer configuration (``bootstrap.servers``, ``group.id``, security
    settings); the group is not joined.  As Flume's KafkaSource/KafkaChannel: a topic in which any
    partition has a Kafka offset is left alone, only partitions the topic has are migrated, and the
    commit is read back.  Returns what was migrated (topic -> partition -> offset); FlumeError if
    Kafka or ZooKeeper fail (the component's start fails and is retried).  ``what`` names the
    component in log lines.
    """
    from flumepy.kafka.client import describe_error, import_confluent

    ck = import_confluent()
    group = conf["group.id"]
    migrated: dict[str, dict[int, int]] = {}
    try:
        consumer = ck.Consumer(conf)
    except ck.KafkaException as e:
        raise FlumeError(f"{what}: bad consumer settings: {e}") from None
    try:
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                log.warning("%s: topic %s not found in Kafka; ZooKeeper offsets of group %s not migrated", what,
                            topic, group)
                continue
            tps = [ck.TopicPartition(topic, p) for p in sorted(meta.partitions)]
            found = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=timeout) if tp.offset >= 0}
            if found:
                log.info("%s: group %s has Kafka offsets for %s; not migrating from ZooKeeper", what, group, topic)
                log.debug("%s: Kafka offsets of %s: %s", what, topic, found)
                continue
            old = {p: o for p, o in read_offsets(connect, group, topic).items() if p in meta.partitions}
            if not old:
                log.info("%s: no offsets of group %s for %s in ZooKeeper to migrate", what, group, topic)
                continue
            consumer.commit(offsets=[ck.TopicPartition(topic, p, o) for p, o in sorted(old.items())],
                            asynchronous=False)
            now = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=timeout)}
            if any(now.get(p) != o for p, o in old.items()):
                raise FlumeError(f"{what}: ZooKeeper offsets of group {group} for {topic} could not be committed "
                                 f"to Kafka (committed {now}, wanted {old})")
            migrated[topic] = old
            log.info("%s: migrated ZooKeeper offsets of group %s for %s: %s", what, group, topic,
                     ", ".join(f"{topic}-{p}@{o}" for p, o in sorted(old.items())))
    except ck.KafkaException as e:
        err = e.args[0] if e.args else e
        raise FlumeError(f"{what}: migrating ZooKeeper offsets of group {group}: {describe_error(err)}") from None
    finally:
        consumer.close()
    return migrated
