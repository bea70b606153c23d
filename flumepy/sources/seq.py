"""Type ``seq``: Flume's SequenceGeneratorSource — bodies "0", "1", "2", ... with no headers."""

from __future__ import annotations

from flumepy.core.component import POLL_PROPS, PollableSource, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError
from flumepy.core.event import EventBatch


class SeqSource(PollableSource):
    """Generates decimal counters starting at 0, batchSize per transaction, up to totalEvents."""

    PROPS = (
        Prop("batchSize", "int", 1, "Events per channel transaction.", min=1),
        Prop("totalEvents", "int", 2**63 - 1, "Stop after generating this many events.", min=0),
        *POLL_PROPS,
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.next = 0
        self.total = 0

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.batch_size = self.settings["batchSize"]
        self.total = self.settings["totalEvents"]

    def process(self) -> Status:
        start = self.next
        stop = min(start + self.batch_size, self.total)
        if start >= stop:
            return Status.BACKOFF
        batch = EventBatch(list(map(b"%d".__mod__, range(start, stop))))
        c = self.counters.values
        c["EventReceivedCount"] += len(batch)
        c["AppendBatchReceivedCount"] += 1
        try:
            self.channel_processor.process_batch(batch)
        except ChannelError:
            c["ChannelWriteFail"] += 1
            return Status.BACKOFF  # the same numbers are generated again on the next poll
        self.next = stop
        c["EventAcceptedCount"] += len(batch)
        c["AppendBatchAcceptedCount"] += 1
        return Status.READY
