"""File formats the HDFS sink writes and the ``flumepy hdfs`` tools read.

* :mod:`flumepy.formats.codecs` — Hadoop compression codecs by Flume's names (gzip, deflate, bzip2).
* :mod:`flumepy.formats.sequencefile` — Hadoop SequenceFile writer (LongWritable keys,
  BytesWritable or Text values, NONE/RECORD/BLOCK compression).
* :mod:`flumepy.formats.sequencefile_reader` — the matching reader.

Modules are imported on use; importing this package does nothing else.
"""
