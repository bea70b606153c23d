"""Shared Kafka pieces for the kafka source, sink and channel: client settings, Flume's Avro event
format and the legacy ZooKeeper broker lookup.  Needs the ``kafka`` extra (confluent-kafka, kazoo)."""
