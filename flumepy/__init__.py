"""flumepy: Apache Flume's agent in Python. Public API for plugin authors."""

from flumepy._version import __version__
from flumepy.core.component import (
    Channel,
    ChannelSelector,
    Component,
    EventDrivenSource,
    EventSerializer,
    Interceptor,
    PollableSource,
    SerializerWriter,
    Sink,
    SinkProcessor,
    Source,
    Status,
)
from flumepy.core.context import Context, Prop
from flumepy.core.errors import (
    ChannelError,
    ChannelFullError,
    ConfigError,
    EventDeliveryError,
    FlumeError,
    Problem,
    TransactionStateError,
)
from flumepy.core.event import Event
from flumepy.core.transaction import Transaction

__all__ = [
    "Channel", "ChannelError", "ChannelFullError", "ChannelSelector", "Component", "ConfigError", "Context",
    "Event", "EventDeliveryError", "EventDrivenSource", "EventSerializer", "FlumeError", "Interceptor",
    "PollableSource", "Problem", "Prop", "SerializerWriter", "Sink", "SinkProcessor", "Source", "Status",
    "Transaction", "TransactionStateError", "__version__",
]
