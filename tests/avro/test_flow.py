"""Two tiers through the CLI: agent A (seq) -> avro sink -> agent B (avro source) -> file_roll.

Agent B keeps its events in a Kafka channel, so what its avro source acknowledged survives a kill -9
(with a memory channel, events acknowledged but not yet written are lost, in Flume too).  Agent A's
avro sink only commits its take after B answered OK, so events in flight when B dies are resent.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.util import free_port, run_cli, wait_until, write_conf

TOTAL = 3000


def _lines(out: Path) -> list[str]:
    return [ln for f in sorted(out.iterdir()) for ln in f.read_text().splitlines()]


def test_two_tier_flow_survives_kill_9_of_the_collector(kafka_broker, agent_process, tmp_path: Path) -> None:
    port = free_port()
    topic = kafka_broker.create_topic("avro-flow-" + uuid.uuid4().hex[:8], partitions=1)
    out = tmp_path / "out"
    out.mkdir()
    a_conf = write_conf(tmp_path, f"""
        a.sources = r1
        a.channels = c1
        a.sinks = k1
        a.sources.r1.type = seq
        a.sources.r1.totalEvents = {TOTAL}
        a.sources.r1.batchSize = 50
        a.sources.r1.channels = c1
        a.channels.c1.type = memory
        a.channels.c1.capacity = 100000
        a.channels.c1.transactionCapacity = 100
        a.sinks.k1.type = avro
        a.sinks.k1.channel = c1
        a.sinks.k1.hostname = 127.0.0.1
        a.sinks.k1.port = {port}
        a.sinks.k1.batch-size = 100
        a.sinks.k1.connect-timeout = 2000
        a.sinks.k1.request-timeout = 5000
    """, "a.conf")
    b_conf = write_conf(tmp_path, f"""
        b.sources = r1
        b.channels = c1
        b.sinks = k1
        b.sources.r1.type = avro
        b.sources.r1.bind = 127.0.0.1
        b.sources.r1.port = {port}
        b.sources.r1.channels = c1
        b.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
        b.channels.c1.kafka.bootstrap.servers = {kafka_broker.bootstrap}
        b.channels.c1.kafka.topic = {topic}
        b.channels.c1.kafka.consumer.group.id = g-{topic}
        b.channels.c1.kafka.consumer.session.timeout.ms = 6000
        b.channels.c1.kafka.consumer.heartbeat.interval.ms = 1000
        b.sinks.k1.type = file_roll
        b.sinks.k1.channel = c1
        b.sinks.k1.sink.directory = {out}
        b.sinks.k1.sink.rollInterval = 0
        b.sinks.k1.sink.batchSize = 100
    """, "b.conf")
    b = agent_process(b_conf, "b").start().wait_started()
    b.wait_for_output(r"avro source r1 listening")
    a = agent_process(a_conf, "a").start().wait_started()
    wait_until(lambda: len(_lines(out)) >= 300, timeout=60, what="the first events at agent B")
    b.kill()  # SIGKILL, mid-stream
    b2 = agent_process(b_conf, "b").start().wait_started()
    wait_until(lambda: set(_lines(out)) >= {str(i) for i in range(TOTAL)}, timeout=120,
               what=f"all {TOTAL} events at agent B after its restart")
    lines = _lines(out)
    assert set(lines) == {str(i) for i in range(TOTAL)}  # nothing lost, nothing foreign (resends allowed)
    assert "EventDeliveryException" not in a.output
    assert a.terminate() == 0
    assert b2.terminate() == 0


def test_avro_client_command(agent_process, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    conf = write_conf(tmp_path, f"""
        b.sources = r1
        b.channels = c1
        b.sinks = k1
        b.sources.r1.type = avro
        b.sources.r1.bind = 127.0.0.1
        b.sources.r1.port = {port}
        b.sources.r1.channels = c1
        b.channels.c1.type = memory
        b.sinks.k1.type = file_roll
        b.sinks.k1.channel = c1
        b.sinks.k1.sink.directory = {out}
        b.sinks.k1.sink.rollInterval = 0
        b.sinks.k1.sink.serializer = header_and_text
    """)
    b = agent_process(conf, "b").start().wait_started()
    b.wait_for_output(r"avro source r1 listening")
    data = tmp_path / "data.txt"
    data.write_bytes(b"".join(b"line %d\r\n" % i for i in range(12)) + b"last")
    headers = tmp_path / "headers.properties"
    headers.write_text("host = web1\n# comment\ndc=eu\n")
    got = run_cli("avro-client", "-H", "127.0.0.1", "-p", str(port), "-F", str(data), "-R", str(headers))
    assert got.returncode == 0, got.stderr
    assert "sent 13 events" in got.stderr
    expected = [f"{{host=web1, dc=eu}} line {i}" for i in range(12)] + ["{host=web1, dc=eu} last"]
    wait_until(lambda: _lines(out) == expected, what="avro-client lines in agent B's output")
    refused = run_cli("avro-client", "-H", "127.0.0.1", "-p", str(free_port()), "-F", str(data))
    assert refused.returncode == 1
    assert "cannot connect" in refused.stderr and "Traceback" not in refused.stderr
    b.terminate()
