"""One registry of component types, filled from entry-point groups ``flumepy.<kind>``.

Built-ins register through the same groups as third-party plugins (see setup.cfg).  Entry points
are read only when ``Registry.from_entry_points()`` is called, never on import.  A type string in a
config resolves, in order, as: a registered alias (case-insensitive), one of Flume's Java class
names mapped to its alias, ``package.module:Class``, or a dotted ``package.module.Class`` path.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from flumepy.core.context import suggest
from flumepy.core.errors import FlumeError

KINDS = ("sources", "channels", "sinks", "interceptors", "serializers", "selectors", "sinkprocessors",
         "deserializers")
SINGULAR = {
    "sources": "source", "channels": "channel", "sinks": "sink", "interceptors": "interceptor",
    "serializers": "serializer", "selectors": "selector", "sinkprocessors": "sink processor",
    "deserializers": "deserializer",
}

# Extras that provide a built-in whose module needs an optional dependency.
INSTALL_HINTS = {
    ("sinks", "hdfs"): "flumepy[hdfs]",
    ("sources", "kafka"): "flumepy[kafka]",
    ("sinks", "kafka"): "flumepy[kafka]",
    ("channels", "kafka"): "flumepy[kafka]",
}

_O = "org.apache.flume."
# Flume's Java class names (and the alias each maps to).  Classes listed with an alias that is not
# registered are Flume components flumepy does not have; they get an error that says so.
JAVA_CLASSES: dict[str, dict[str, str]] = {
    "sources": {
        _O + "source.SequenceGeneratorSource": "seq",
        _O + "source.NetcatSource": "netcat",
        _O + "source.NetcatUdpSource": "netcatudp",
        _O + "source.ExecSource": "exec",
        _O + "source.AvroSource": "avro",
        _O + "source.ThriftSource": "thrift",
        _O + "source.SyslogTcpSource": "syslogtcp",
        _O + "source.MultiportSyslogTCPSource": "multiport_syslogtcp",
        _O + "source.SyslogUDPSource": "syslogudp",
        _O + "source.SpoolDirectorySource": "spooldir",
        _O + "source.http.HTTPSource": "http",
        _O + "source.jms.JMSSource": "jms",
        _O + "source.taildir.TaildirSource": "taildir",
        _O + "source.kafka.KafkaSource": "kafka",
        _O + "source.StressSource": "stress",
        _O + "source.twitter.TwitterSource": "twitter",
    },
    "channels": {
        _O + "channel.MemoryChannel": "memory",
        _O + "channel.file.FileChannel": "file",
        _O + "channel.jdbc.JdbcChannel": "jdbc",
        _O + "channel.SpillableMemoryChannel": "spillablememory",
        _O + "channel.kafka.KafkaChannel": "kafka",
        _O + "channel.PseudoTxnMemoryChannel": "pseudotxnmemory",
    },
    "sinks": {
        _O + "sink.NullSink": "null",
        _O + "sink.LoggerSink": "logger",
        _O + "sink.RollingFileSink": "file_roll",
        _O + "sink.hdfs.HDFSEventSink": "hdfs",
        _O + "sink.AvroSink": "avro",
        _O + "sink.ThriftSink": "thrift",
        _O + "sink.irc.IRCSink": "irc",
        _O + "sink.hbase.HBaseSink": "hbase",
        _O + "sink.hbase.AsyncHBaseSink": "asynchbase",
        _O + "sink.hbase2.HBase2Sink": "hbase2",
        _O + "sink.elasticsearch.ElasticSearchSink": "elasticsearch",
        _O + "sink.solr.morphline.MorphlineSolrSink": "morphline_solr",
        _O + "sink.hive.HiveSink": "hive",
        _O + "sink.http.HttpSink": "http",
        _O + "sink.kafka.KafkaSink": "kafka",
    },
    "selectors": {
        _O + "channel.ReplicatingChannelSelector": "replicating",
        _O + "channel.MultiplexingChannelSelector": "multiplexing",
        _O + "channel.LoadBalancingChannelSelector": "load_balancing",
    },
    "sinkprocessors": {
        _O + "sink.DefaultSinkProcessor": "default",
        _O + "sink.FailoverSinkProcessor": "failover",
        _O + "sink.LoadBalancingSinkProcessor": "load_balance",
    },
    "interceptors": {
        _O + "interceptor.TimestampInterceptor$Builder": "timestamp",
        _O + "interceptor.HostInterceptor$Builder": "host",
        _O + "interceptor.StaticInterceptor$Builder": "static",
        _O + "interceptor.RegexFilteringInterceptor$Builder": "regex_filter",
        _O + "interceptor.RegexExtractorInterceptor$Builder": "regex_extractor",
        _O + "interceptor.RemoveHeaderInterceptor$Builder": "remove_header",
        _O + "interceptor.SearchAndReplaceInterceptor$Builder": "search_replace",
        _O + "sink.solr.morphline.UUIDInterceptor$Builder": "uuid",
    },
    "serializers": {
        _O + "serialization.BodyTextEventSerializer$Builder": "text",
        _O + "serialization.HeaderAndBodyTextEventSerializer$Builder": "header_and_text",
        _O + "serialization.FlumeEventAvroEventSerializer$Builder": "avro_event",
        _O + "sink.hdfs.AvroEventSerializer$Builder": "avro_event",
    },
    "deserializers": {
        _O + "serialization.LineDeserializer$Builder": "line",
        _O + "serialization.AvroEventDeserializer$Builder": "avro",
        _O + "sink.solr.morphline.BlobDeserializer$Builder": "blob",
    },
}


class UnknownTypeError(FlumeError):
    """A type string names no registered component; the message lists what exists."""


@dataclass
class Entry:
    kind: str
    name: str
    target: Any  # an importlib.metadata.EntryPoint, a "module:Class" string, or a class
    origin: str  # distribution name and version, or "registered in code"
    _cls: type | None = field(default=None, repr=False)

    def load(self) -> type:
        if self._cls is None:
            t = self.target
            if isinstance(t, type):
                self._cls = t
            elif isinstance(t, str):
                self._cls = _import(t)
            else:
                self._cls = t.load()
        return self._cls


def _import(path: str) -> type:
    if ":" in path:
        mod_name, _, attr = path.partition(":")
    else:
        mod_name, _, attr = path.rpartition(".")
    if not mod_name or not attr:
        raise ImportError(f"{path!r} is not a module:Class path")
    obj: Any = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise ImportError(f"{path!r} is not a class")
    return obj


class Registry:
    """Maps (kind, name) to component classes. Owned by whoever builds agents; never global."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}

    @classmethod
    def from_entry_points(cls, groups: Iterable[str] = KINDS) -> Registry:
        reg = cls()
        reg.load_entry_points(groups)
        return reg

    def load_entry_points(self, groups: Iterable[str] = KINDS) -> None:
        eps = importlib.metadata.entry_points()
        for kind in groups:
            for ep in eps.select(group=f"flumepy.{kind}"):
                dist = getattr(ep, "dist", None)
                origin = f"{dist.metadata['Name']} {dist.version}" if dist is not None else "entry point"
                existing = self._entries[kind].get(ep.name.lower())
                if existing is not None:
                    if existing.origin == origin and _same_target(existing.target, ep):
                        continue  # the same distribution seen twice on sys.path
                    raise FlumeError(
                        f"{SINGULAR[kind]} type {ep.name!r} is registered twice: by {existing.origin} "
                        f"and by {origin}"
                    )
                self._entries[kind][ep.name.lower()] = Entry(kind, ep.name, ep, origin)

    def register(self, kind: str, name: str, target: type | str, origin: str = "registered in code",
                 clobber: bool = False) -> None:
        if kind not in self._entries:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        key = name.lower()
        if key in self._entries[kind] and not clobber:
            raise FlumeError(f"{SINGULAR[kind]} type {name!r} is already registered by "
                             f"{self._entries[kind][key].origin}")
        self._entries[kind][key] = Entry(kind, name, target, origin)

    def entries(self, kind: str) -> MappingProxyType[str, Entry]:
        return MappingProxyType(self._entries[kind])

    def names(self, kind: str) -> list[str]:
        return sorted(e.name for e in self._entries[kind].values())

    def alias_of(self, kind: str, cls: type) -> str | None:
        for e in self._entries[kind].values():
            if e._cls is cls or (isinstance(e.target, type) and e.target is cls):
                return e.name
        return None

    def resolve(self, kind: str, type_name: str) -> type:
        """The class for ``type_name``; UnknownTypeError explains what exists when nothing matches."""
        t = type_name.strip()
        what = SINGULAR[kind]
        entry = self._entries[kind].get(t.lower())
        if entry is None:
            java = _java_lookup(kind, t)
            if java is not None:
                entry = self._entries[kind].get(java)
                if entry is None:
                    hint = INSTALL_HINTS.get((kind, java))
                    more = f"; install {hint}" if hint else ""
                    raise UnknownTypeError(
                        f"{t} is Flume's Java {what} {java!r}, which flumepy does not provide{more}. "
                        f"Available {what} types: {', '.join(self.names(kind))}"
                    )
        if entry is not None:
            try:
                return entry.load()
            except ImportError as e:
                hint = INSTALL_HINTS.get((kind, entry.name.lower()))
                more = f" (pip install {hint})" if hint else ""
                raise UnknownTypeError(f"{what} type {t!r} could not be loaded: {e}{more}") from e
        if ":" in t or ("." in t and not t.startswith("org.apache.flume.")):
            try:
                return _import(t)
            except (ImportError, AttributeError) as e:
                java = ""
                if ":" not in t and t.startswith(("com.", "org.", "net.", "io.")):
                    java = (f". If {t} is a Java class: flumepy runs Python components; use one of the {what} "
                            f"types ({', '.join(self.names(kind))}) or a Python class as package.module:Class")
                raise UnknownTypeError(f"custom {what} class {t!r} could not be imported: {e}{java}") from e
        if t.startswith(("org.apache.", "com.", "org.")):
            raise UnknownTypeError(
                f"{t} looks like a Java class; flumepy runs Python components. Use one of the {what} "
                f"types ({', '.join(self.names(kind))}) or a Python class as package.module:Class"
            )
        if t.lower() in {a.lower() for a in JAVA_CLASSES.get(kind, {}).values()}:
            hint = INSTALL_HINTS.get((kind, t.lower()))
            more = f"; install {hint}" if hint else ""
            raise UnknownTypeError(
                f"unknown {what} type {t!r}: a Flume {what} type that flumepy does not provide{more}. "
                f"Available {what} types: {', '.join(self.names(kind))}"
            )
        guess = suggest(t, self.names(kind))
        hint = f" Did you mean {guess}?" if guess else ""
        raise UnknownTypeError(
            f"unknown {what} type {t!r}.{hint} Known {what} types: {', '.join(self.names(kind))}; "
            "or give a Python class as package.module:Class"
        )


def _java_lookup(kind: str, name: str) -> str | None:
    table = JAVA_CLASSES.get(kind, {})
    if name in table:
        return table[name]
    low = name.lower()
    for k, v in table.items():
        if k.lower() == low:
            return v
    return None


def _same_target(target: Any, ep: importlib.metadata.EntryPoint) -> bool:
    return isinstance(target, importlib.metadata.EntryPoint) and target.value == ep.value
