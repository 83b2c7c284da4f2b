"""The durable journal: one SQLite row per acquisition version (WAL).

Only the service's main process writes it; ``fentid watch --status`` reads it at the same
time (WAL lets readers read while the writer writes).  States::

    seen         found; waiting until it is stable and complete (or for a retry)
    processing   a worker is identifying it
    done         its report is written (atomically, before this state was committed)
    failed       a transient failure (incomplete, output not writable, disk full, worker
                 crash...); ``next_try`` says when it is tried again
    quarantined  a bad file (corrupt, unknown format, incomplete for too long, crashed
                 workers repeatedly); ``error`` says why; the service goes on
    deleted      the acquisition disappeared before a report was made

A row is one *version* of an acquisition: when a file already reported (or quarantined)
is replaced with different content, a new row with ``version + 1`` becomes the
``current`` one and the old row keeps its history.  On start, rows left ``processing`` by a
crash go back to ``seen`` (:meth:`Journal.recover`); redoing them is idempotent because a
report is only ever replaced atomically.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

SCHEMA_VERSION = 1
STATES = ("seen", "processing", "done", "failed", "quarantined", "deleted")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS acquisitions (
    id INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    rel TEXT NOT NULL,
    version INTEGER NOT NULL,
    current INTEGER NOT NULL DEFAULT 1,
    path TEXT NOT NULL,
    kind TEXT,
    size INTEGER,
    mtime REAL,
    fingerprint TEXT,
    sha256 TEXT,
    state TEXT NOT NULL CHECK (state IN ({", ".join(repr(s) for s in STATES)})),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL,
    error TEXT,
    report_path TEXT,
    text_path TEXT,
    library_path TEXT,
    library_version INTEGER,
    library_checksum TEXT,
    seen_at REAL,
    complete_at REAL,
    started_at REAL,
    done_at REAL,
    updated_at REAL,
    notified INTEGER NOT NULL DEFAULT 0,
    UNIQUE (root, rel, version)
);
CREATE INDEX IF NOT EXISTS acq_current ON acquisitions (root, rel, current);
CREATE INDEX IF NOT EXISTS acq_state ON acquisitions (state, current);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

#: ``notified`` values: the on-report command has not run yet / succeeded / gave up.
NOTIFY_PENDING, NOTIFY_OK, NOTIFY_FAILED = 0, 1, 2


class Journal:
    """The service's journal.

    Parameters
    ----------
    path : Path
        The SQLite file (created with its folder when missing).
    readonly : bool
        Open for reading only (``--status``).
    """

    def __init__(self, path: Path, readonly: bool = False):
        self.path = Path(path)
        if readonly:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, timeout=10, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL (WAL): a power cut may lose the last commits but never corrupts the
            # file; a lost "done" is redone (its report was fsync'ed before, and is replaced
            # atomically), so FULL's fsync per commit would buy nothing but latency
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # --- writes ------------------------------------------------------------------------
    def _update(self, row_id: int, **fields) -> None:
        fields["updated_at"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE acquisitions SET {cols} WHERE id = ?",
                        (*fields.values(), row_id))

    def update(self, row_id: int, **fields) -> None:
        """Set columns of one row (one committed transaction)."""
        self._update(row_id, **fields)

    def add(self, root: str, rel: str, path: str, kind: str, fp, now: float,
            version: int = 1) -> int:
        """A new current row in state ``seen``; the previous current version (if any) stops
        being current in the same transaction.  Returns the row id."""
        with self.db:  # one transaction
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE acquisitions SET current = 0 WHERE root = ? AND rel = ?",
                            (root, rel))
            cur = self.db.execute(
                "INSERT INTO acquisitions (root, rel, version, current, path, kind, size, "
                "mtime, fingerprint, state, seen_at, updated_at) "
                "VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, 'seen', ?, ?)",
                (root, rel, version, path, kind, fp.size, fp.mtime, fp.digest, now, now))
        return int(cur.lastrowid)

    def recover(self) -> int:
        """Rows left ``processing`` by a crash go back to ``seen``; returns how many."""
        cur = self.db.execute("UPDATE acquisitions SET state = 'seen', updated_at = ? "
                              "WHERE state = 'processing'", (time.time(),))
        return cur.rowcount

    # --- reads -------------------------------------------------------------------------
    def get(self, row_id: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM acquisitions WHERE id = ?", (row_id,)).fetchone()

    def current(self, root: str, rel: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM acquisitions WHERE root = ? AND rel = ? AND "
                               "current = 1", (root, rel)).fetchone()

    def current_rows(self, root: str | None = None) -> list[sqlite3.Row]:
        if root is None:
            return self.db.execute("SELECT * FROM acquisitions WHERE current = 1").fetchall()
        return self.db.execute("SELECT * FROM acquisitions WHERE current = 1 AND root = ?",
                               (root,)).fetchall()

    def in_states(self, *states: str) -> list[sqlite3.Row]:
        marks = ", ".join("?" for _ in states)
        return self.db.execute(f"SELECT * FROM acquisitions WHERE current = 1 AND "
                               f"state IN ({marks}) ORDER BY id", states).fetchall()

    def unnotified(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM acquisitions WHERE state = 'done' AND "
                               "notified = ? ORDER BY done_at", (NOTIFY_PENDING,)).fetchall()

    def counts(self) -> dict[str, int]:
        """Current rows per state (every state listed)."""
        rows = self.db.execute("SELECT state, COUNT(*) FROM acquisitions WHERE current = 1 "
                               "GROUP BY state").fetchall()
        found = {r[0]: r[1] for r in rows}
        return {s: found.get(s, 0) for s in STATES}

    def last_errors(self, n: int = 10) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM acquisitions WHERE error IS NOT NULL AND "
                               "current = 1 ORDER BY updated_at DESC LIMIT ?", (n,)).fetchall()

    def all_rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM acquisitions ORDER BY root, rel, version"
                               ).fetchall()
