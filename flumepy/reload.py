"""Watch the agent's config file and call back when its content changes (Flume's config polling).

File-system events come from watchdog, observing the file's directory (editors save by writing a
temporary file and renaming it over the original, so modify, create and move events all count).
Bursts are debounced; a poll of the file every ``poll_interval`` seconds is the fallback when events
are unavailable or missed.  ``on_change`` is always called from the watcher's one worker thread, so
two reloads never run at the same time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

log = logging.getLogger(__name__)

DEBOUNCE = 0.5


def digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


class _Events(FileSystemEventHandler):
    def __init__(self, paths: set[str], any_event: bool, kick: Callable[[], None]) -> None:
        self.paths = paths
        self.any_event = any_event
        self.kick = kick

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("modified", "created", "moved", "closed", "deleted"):
            return
        touched = {os.path.abspath(os.fsdecode(event.src_path))}
        dest = getattr(event, "dest_path", "")
        if dest:
            touched.add(os.path.abspath(os.fsdecode(dest)))
        if self.any_event or touched & self.paths:
            self.kick()


class ConfigWatcher:
    """Calls ``on_change()`` after the file at ``path`` changes; ``start()``/``stop()`` own the threads."""

    def __init__(self, path: str, on_change: Callable[[], None], poll_interval: float = 30.0,
                 debounce: float = DEBOUNCE, events: bool = True, baseline: str | None = None) -> None:
        self.path = os.path.abspath(path)
        self.on_change = on_change
        self.poll_interval = max(0.1, poll_interval)
        self.debounce = debounce
        self.events = events  # False: rely on polling alone
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        # Digest of the content the agent loaded; taken before loading, so a change made while the
        # agent starts is still noticed (at worst one reload of the same content, which changes nothing).
        self._last: str | None = baseline
        self._missing_logged = False

    def start(self) -> None:
        if self._last is None:
            self._last = digest(self.path)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="config-watcher", daemon=True)
        self._thread.start()
        log.info("watching %s for configuration changes (poll every %gs)", self.path, self.poll_interval)
        if not self.events:
            return
        directory = os.path.dirname(self.path)
        paths = {self.path, os.path.realpath(self.path)}
        handler = _Events(paths, os.path.islink(self.path), self._kick.set)
        try:
            observer = Observer()
            observer.daemon = True
            observer.schedule(handler, directory, recursive=False)
            observer.start()
            self._observer = observer
        except Exception as e:  # e.g. inotify watch limit reached
            log.warning("cannot watch %s for changes (%s); checking it every %.0fs instead", directory, e,
                        self.poll_interval)

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(5)
            except Exception:
                log.debug("config watcher observer did not stop cleanly", exc_info=True)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            kicked = self._kick.wait(self.poll_interval)
            if self._stop.is_set():
                return
            if kicked:
                # Debounce: wait until events stop arriving for `debounce` seconds.
                self._kick.clear()
                while self._kick.wait(self.debounce):
                    self._kick.clear()
                    if self._stop.is_set():
                        return
            self._check()

    def _check(self) -> None:
        current = digest(self.path)
        if current is None:
            if not self._missing_logged:
                log.warning("configuration file %s is missing or unreadable; keeping the running "
                            "configuration until it is back", self.path)
                self._missing_logged = True
            return
        self._missing_logged = False
        if current == self._last:
            return
        self._last = current
        log.info("configuration file %s changed, reloading", self.path)
        try:
            self.on_change()
        except Exception:
            log.exception("reloading %s failed; the previous configuration keeps running", self.path)
