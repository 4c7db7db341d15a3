"""The durable outbox: paid generations that could not be recorded yet.

When Groq answered but the store still refused the write after its retries, the full result is
appended to ``outbox.jsonl`` under ``GROQGEN_HOME`` and flushed to disk *before*
``RecordingFailed`` is raised. ``client.outbox.flush()`` replays the entries later.

The file is an append-only journal: a ``pending`` line per generation, a ``recorded`` line once
it is stored. Replaying is idempotent — the store records a generation under its
client-generated id, and a second write of the same id changes nothing — so a crash anywhere
in a flush neither loses nor duplicates a record: an entry stays pending until its
``recorded`` line is on disk, and recording it again is harmless. Entries remember which store
they belong to; a client flushes only its own store's entries.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._filelock import FileLock
from .stores import ops

__all__ = ["FlushResult", "Outbox", "PendingGeneration"]

JOURNAL = "outbox.jsonl"


@dataclass(frozen=True)
class PendingGeneration:
    """A generation waiting to be recorded: the row's values and its activity entry.

    ``values[output_column]`` holds what Groq generated; nothing of it is lost.
    """

    id: uuid.UUID
    table: str
    values: dict[str, Any]
    activity: dict[str, Any]
    target: str
    created_at: datetime
    reason: str = ""

    def to_record(self) -> ops.Record:
        """The store operation that records it."""
        return ops.Record(self.table, self.values, self.activity)


@dataclass
class FlushResult:
    """What a flush did: how many entries it recorded, and which failed (left pending)."""

    recorded: int = 0
    failed: list[tuple[PendingGeneration, str]] = field(default_factory=list)
    skipped_other_stores: int = 0


def _locked(path: Path) -> FileLock:
    """An exclusive lock on the journal (between processes too)."""
    return FileLock(path.with_suffix(".lock"))


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Outbox:
    """The journal of one groqgen home, seen from one store (``target``)."""

    def __init__(self, home: Path, target: str) -> None:
        self.path = Path(home) / JOURNAL
        self.target = target

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r})"

    def _append(self, *events: dict[str, Any]) -> None:
        data = "".join(json.dumps(e, default=str, separators=(",", ":")) + "\n" for e in events)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)

    def _read(self) -> list[PendingGeneration]:
        if not self.path.exists():
            return []
        pending: dict[str, PendingGeneration] = {}
        with open(self.path, encoding="utf-8") as journal:
            for line in journal:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash mid-write: its caller never got an answer
                key = event.get("id")
                if event.get("event") == "pending":
                    pending[key] = PendingGeneration(
                        id=uuid.UUID(key),
                        table=event["table"],
                        values=event["values"],
                        activity=event["activity"],
                        target=event["target"],
                        created_at=datetime.fromisoformat(event["at"]),
                        reason=event.get("reason", ""),
                    )
                elif event.get("event") == "recorded":
                    pending.pop(key, None)
        return list(pending.values())

    def add(self, record: ops.Record, reason: str) -> PendingGeneration:
        """Append a generation to the journal and flush it to disk; returns the entry."""
        entry = PendingGeneration(
            id=uuid.UUID(str(record.values["id"])),
            table=record.table,
            values=json.loads(json.dumps(dict(record.values), default=str)),
            activity=json.loads(json.dumps(dict(record.activity), default=str)),
            target=self.target,
            created_at=datetime.now(timezone.utc),
            reason=reason,
        )
        with _locked(self.path):
            self._append(
                {
                    "event": "pending",
                    "id": str(entry.id),
                    "at": entry.created_at.isoformat(),
                    "target": entry.target,
                    "table": entry.table,
                    "values": entry.values,
                    "activity": entry.activity,
                    "reason": reason,
                }
            )
        return entry

    def pending(self, *, all_stores: bool = False) -> list[PendingGeneration]:
        """Entries not recorded yet (this store's, unless ``all_stores``), oldest first."""
        with _locked(self.path):
            entries = self._read()
        mine = entries if all_stores else [e for e in entries if e.target == self.target]
        return sorted(mine, key=lambda e: e.created_at)

    def mark_recorded(self, entry: PendingGeneration) -> None:
        """Note on disk that ``entry`` is stored."""
        with _locked(self.path):
            self._append({"event": "recorded", "id": str(entry.id), "at": _now()})

    def compact(self) -> None:
        """Rewrite the journal with only what is still pending (atomically)."""
        with _locked(self.path):
            entries = self._read()
            temporary = self.path.with_suffix(".tmp")
            with open(temporary, "w", encoding="utf-8") as out:
                for e in entries:
                    line = {
                        "event": "pending",
                        "id": str(e.id),
                        "at": e.created_at.isoformat(),
                        "target": e.target,
                        "table": e.table,
                        "values": e.values,
                        "activity": e.activity,
                        "reason": e.reason,
                    }
                    out.write(json.dumps(line, default=str, separators=(",", ":")) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
            _fsync_dir(self.path.parent)

    def others(self) -> int:
        """How many pending entries belong to other stores."""
        return len(self.pending(all_stores=True)) - len(self.pending())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
