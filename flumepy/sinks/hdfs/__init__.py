"""Type ``hdfs``: Flume's HDFS sink (see :mod:`flumepy.sinks.hdfs.sink`)."""

from flumepy.sinks.hdfs.sink import HDFSEventSink

__all__ = ["HDFSEventSink"]
