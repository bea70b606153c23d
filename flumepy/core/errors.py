"""Exceptions shared by the whole package."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about a configuration: where it is, which key, and what is wrong."""

    level: str  # "error" or "warning"
    message: str
    key: str = ""
    file: str = ""
    line: int = 0

    def format(self) -> str:
        where = self.file or "<config>"
        if self.line:
            where = f"{where}:{self.line}"
        prefix = f"{where}: "
        if self.key:
            prefix += f"{self.key}: "
        tag = "" if self.level == "error" else "warning: "
        return f"{prefix}{tag}{self.message}"

    def __str__(self) -> str:
        return self.format()


class FlumeError(Exception):
    """Base class of every flumepy error."""


class ConfigError(FlumeError):
    """A configuration is wrong; carries every problem found, each naming file, line and key."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("error", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


class ChannelError(FlumeError):
    """A channel operation failed (Flume's ChannelException)."""


class ChannelFullError(ChannelError):
    """A put could not be committed because the channel is full (Flume's ChannelFullException)."""


class EventDeliveryError(FlumeError):
    """A sink or source could not deliver events (Flume's EventDeliveryException)."""


class TransactionStateError(FlumeError):
    """A transaction method was called in the wrong state or from the wrong thread."""
