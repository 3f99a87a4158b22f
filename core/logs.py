"""Structured logs: JSON lines in `data/_logs/<run-id>.jsonl`, short human lines on stderr."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger("lakehouse")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "message"),
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        return json.dumps(entry, default=str)


class _BestEffortFile(logging.FileHandler):
    """A log file that never breaks the work it records: on a full or read-only disk the line is lost, the run's
    own error (or success) stands."""

    def handleError(self, record: logging.LogRecord) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handleError(record)


def setup(log_file: Path | None, quiet: bool = False) -> None:
    """Send events to `log_file` as JSON and, unless quiet, to stderr as text."""
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler = _BestEffortFile(log_file)
        except OSError:  # a folder the lake cannot write: the command says so itself, if it must write there
            file_handler = None
        if file_handler is not None:
            file_handler.setFormatter(_JsonLines())
            logger.addHandler(file_handler)
    if not quiet:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(console)


def event(name: str, message: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, message, extra={"event": name, "fields": fields})
