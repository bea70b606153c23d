"""An example flumepy plugin: the ``lines`` source and the ``jsonl`` sink."""

from flumepy_example_plugin.sink import JsonlSink
from flumepy_example_plugin.source import LinesSource

__all__ = ["JsonlSink", "LinesSource"]
__version__ = "0.1.0"
