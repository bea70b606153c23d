"""Flume <= 1.6 configs: legacy keys, brokers looked up in ZooKeeper, old ZooKeeper offsets, the tutorial."""

from __future__ import annotations

import re
from pathlib import Path

from tests.kafka.conftest import fast_consumer, unique
from tests.util import free_port, wait_until, write_conf

SEED = Path("/work/shared/seed/kafkaFlume.conf")
TUTORIAL = (Path(__file__).resolve().parents[2] / "examples" / "kafka-hdfs" / "kafkaFlume.conf")


def _create(broker, topic: str, partitions: int = 1) -> None:
    from confluent_kafka import KafkaException

    try:
        broker.create_topic(topic, partitions)
    except KafkaException as e:
        if "TOPIC_ALREADY_EXISTS" not in str(e):
            raise


def _tutorial_text() -> str:
    return (TUTORIAL if TUTORIAL.exists() else SEED).read_text()


def test_the_tutorial_config_runs_unchanged_but_for_host_names(kafka_broker, zookeeper, hdfs_cluster,
                                                               agent_process, tmp_path: Path) -> None:
    from flumepy.fs import filesystem_for

    zookeeper.register_broker(0, "127.0.0.1", kafka_broker.port)
    _create(kafka_broker, "test")  # as the tutorial: kafka-topics.sh --create --partitions 1 --topic test
    text = _tutorial_text()
    assert "agent.sources.kafkaSource.zookeeperConnect = localhost:2181" in text
    text = text.replace("localhost:2181", zookeeper.connect)
    text = text.replace("hdfs://quickstart:8020", hdfs_cluster.namenode_url)
    # Tansu joins a group in half of session.timeout.ms (45 s by default): the only added lines.
    text += fast_consumer("agent.sources.kafkaSource.")
    conf = write_conf(tmp_path, text, "kafkaFlume.conf")
    agent = agent_process(conf, "agent", ["--conf", str(tmp_path), "-Dflume.root.logger-INFO.console"],
                          cwd=str(tmp_path)).start()
    agent.wait_for_output(r"kafka source kafkaSource: assigned partitions test-0", 60)
    log = agent.output
    for old, new in (("topic", "kafka.topics"), ("groupId", "kafka.consumer.group.id"),
                     ("zookeeperConnect", "kafka.bootstrap.servers")):
        assert f"agent.sources.kafkaSource.{old}: warning: is deprecated; use {new} instead" in log, log
    assert re.search(r"rollInterval.*hdfs\.rollInterval", log), log
    assert f"Kafka brokers from ZooKeeper {zookeeper.connect}: 127.0.0.1:{kafka_broker.port}" in log
    fs, root = filesystem_for(hdfs_cluster.webhdfs_url + "/flumedata")  # WebHDFS reads open files too

    def written() -> list[bytes]:  # every line of /flumedata/FlumeData.* (open .tmp files too)
        got = []
        try:
            files = [f.path for f in fs.list(root) if f.path.rsplit("/", 1)[-1].startswith("FlumeData.")]
            for path in files:
                with fs.open(path) as fh:
                    got.extend(fh.read().splitlines())
        except (FileNotFoundError, OSError):  # FlumeData.N.tmp renamed meanwhile: read again
            return []
        return got

    # The group starts at the latest offset (Flume's default), resolved just after the assignment:
    # like a user typing into kafka-console-producer.sh, wait until a first line comes through.
    def warmed_up() -> bool:
        kafka_broker.produce("test", [b"warm-up"])
        return b"warm-up" in written()

    wait_until(warmed_up, 60, interval=0.5, what="a first line in /flumedata/FlumeData.*")
    # rollCount (unprefixed) is ignored: hdfs.rollCount's default of 10 makes a file per 10 lines, and
    # closing a file takes HDFS a few hundred ms, so keep the count small.
    lines = [b"hello flume %d" % i for i in range(120)]
    kafka_broker.produce("test", lines)  # kafka-console-producer.sh --topic test
    wait_until(lambda: len([ln for ln in written() if ln != b"warm-up"]) >= len(lines), 60,
               what="every line in /flumedata/FlumeData.*")
    assert agent.terminate() == 0
    assert sorted(ln for ln in written() if ln != b"warm-up") == sorted(lines)
    fs.close()


def test_unreachable_zookeeper_says_to_set_bootstrap_servers(agent_process, tmp_path: Path) -> None:
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = kafka
        a1.sources.r1.zookeeperConnect = 127.0.0.1:{free_port()}
        a1.sources.r1.topic = t
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 1000
        a1.channels.c1.transactionCapacity = 1000
        a1.sinks.k1.type = null
        a1.sinks.k1.channel = c1
    """)
    agent = agent_process(conf, "a1").start()
    agent.wait_for_output(r"source r1 failed to start: cannot reach ZooKeeper at 127\.0\.0\.1:\d+ "
                          r"\(zookeeperConnect\).*set kafka\.bootstrap\.servers", 40)
    assert agent.terminate() == 0


def test_old_zookeeper_offsets_are_migrated_for_a_new_group(kafka_broker, zookeeper, agent_process,
                                                            tmp_path: Path) -> None:
    zookeeper.register_broker(0, "127.0.0.1", kafka_broker.port)
    topic, group = kafka_broker.create_topic(unique("legacy")), unique("old-group")
    kafka_broker.produce(topic, [b"m%d" % i for i in range(10)])
    zk = zookeeper.client()
    try:  # an old (0.8-style) consumer of this group had read up to offset 6
        zk.create(f"/consumers/{group}/offsets/{topic}/0", b"6", makepath=True)
    finally:
        zk.stop()
        zk.close()
    out = tmp_path / "out"
    out.mkdir()
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = kafka
        a1.sources.r1.zookeeperConnect = {zookeeper.connect}
        a1.sources.r1.topic = {topic}
        a1.sources.r1.groupId = {group}
        a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
        a1.sources.r1.batchDurationMillis = 200
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.transactionCapacity = 1000
        a1.channels.c1.capacity = 1000
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.channel = c1
    """ + fast_consumer("a1.sources.r1."))
    agent = agent_process(conf, "a1").start()
    agent.wait_for_output(r"migrated ZooKeeper offsets of group", 30)

    def lines() -> list[bytes]:
        return [ln for f in out.iterdir() for ln in f.read_bytes().splitlines()]

    wait_until(lambda: len(lines()) >= 4, 30, what="4 lines")
    assert agent.terminate() == 0
    assert sorted(lines()) == [b"m6", b"m7", b"m8", b"m9"]  # from the old offset on, not from the start
