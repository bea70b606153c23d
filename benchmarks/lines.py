"""The input every file-reading benchmark uses: N lines of 100 bytes (99 x's and a newline)."""

from __future__ import annotations

LINE = b"x" * 99 + b"\n"


def write_lines(path: str, n: int) -> None:
    """Write ``n`` copies of LINE to ``path`` in chunks of 10,000 lines."""
    with open(path, "wb") as f:
        chunk = LINE * 10000
        for _ in range(n // 10000):
            f.write(chunk)
        f.write(LINE * (n % 10000))
