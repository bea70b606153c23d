"""Helpers for testing flumepy components, for built-ins and plugin authors alike.

* ``ChannelContract`` / ``SinkContract``: pytest suites to subclass for your channel or sink
  (see their module docstrings for the hooks to implement).
* ``RecordingSink``, ``FailingSink``, ``SlowSink``, ``ListSource``: mock components usable from a
  config by class path (``flumepy.testing:RecordingSink``).
* ``run_pipeline(config_text, agent_name)``: an in-process agent that waits for deliveries.

Importing this package imports pytest (the contract suites use its fixtures); import it only from tests.
"""

from flumepy.testing.channel_contract import ChannelContract, make_events, put_all, take_all
from flumepy.testing.harness import Pipeline, run_pipeline
from flumepy.testing.mocks import FailingSink, ListSource, RecordingSink, SlowSink
from flumepy.testing.sink_contract import SinkContract, SinkRig

__all__ = [
    "ChannelContract",
    "FailingSink",
    "ListSource",
    "Pipeline",
    "RecordingSink",
    "SinkContract",
    "SinkRig",
    "SlowSink",
    "make_events",
    "put_all",
    "run_pipeline",
    "take_all",
]
