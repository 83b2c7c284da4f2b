"""The case record: the analyst's decisions, append-only, next to the samples.

One JSON object per line (JSON Lines), in a file beside the first sample
(``<sample>.fentid-case.jsonl``).  Every line is complete on its own: the sha256 of every
input, the library (path, version, checksum), the fentid version, the conclusion and hit
the viewer showed, the decision (``accept``, ``reject`` or ``inconclusive``), who and when.
A changed decision is a new line; lines are never rewritten.  Each line carries the
sha256 of the line before it (``prev_sha256``), so an edited or deleted line shows up
as a broken chain when the record is read.

Qt-free: the tests and any other tool can read a case record with this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from fentid.errors import FentidError

SCHEMA = "fentid-case/1"
SUFFIX = ".fentid-case.jsonl"
DECISIONS = ("accept", "reject", "inconclusive")


def default_path(samples) -> Path:
    """Where the case record of ``samples`` lives: beside the first sample."""
    first = Path(str(samples[0])).resolve()
    return first.parent / (first.name + SUFFIX)


def component_key(sample_sha256: str, name: str) -> str:
    """What ties a decision to a component: its sample's content and its name."""
    return f"{sample_sha256}:{name}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@dataclass
class CaseContents:
    """What a case record holds.

    Attributes
    ----------
    lines : list of dict
        Every readable line, oldest first.
    problems : list of str
        Unreadable lines and breaks in the ``prev_sha256`` chain (``line N: ...``).
    """

    lines: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def decisions(self) -> dict[str, dict]:
        """The latest decision per component key."""
        out: dict[str, dict] = {}
        for line in self.lines:
            if line.get("kind") == "decision":
                out[line["component"]["key"]] = line
        return out

    def history(self, key: str) -> list[dict]:
        """Every decision of one component, oldest first."""
        return [ln for ln in self.lines if ln.get("kind") == "decision"
                and ln["component"]["key"] == key]


class CaseRecord:
    """An append-only case record file.

    Parameters
    ----------
    path : path-like
        The ``.jsonl`` file (created on the first decision).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self) -> CaseContents:
        """Every line, with the problems found (a missing file is an empty record)."""
        out = CaseContents()
        if not self.path.exists():
            return out
        prev = None
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                body = raw.rstrip(b"\n")
                if not body.strip():
                    continue
                try:
                    line = json.loads(body)
                except ValueError as exc:
                    out.problems.append(f"line {number}: not JSON ({exc.msg}); kept in the "
                                        "file, not shown")
                    prev = _sha(body)
                    continue
                if line.get("prev_sha256") != prev:
                    out.problems.append(f"line {number}: the line before it was changed or "
                                        "removed (prev_sha256 does not match)")
                out.lines.append(line)
                prev = _sha(body)
        return out

    def _last_sha(self) -> str | None:
        if not self.path.exists():
            return None
        last = None
        with open(self.path, "rb") as fh:
            for raw in fh:
                body = raw.rstrip(b"\n")
                if body.strip():
                    last = body
        return None if last is None else _sha(last)

    def _ends_unterminated(self) -> bool:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() == 0:
                    return False
                fh.seek(-1, os.SEEK_END)
                return fh.read(1) != b"\n"
        except OSError:
            return False

    def append(self, line: dict) -> dict:
        """Append one line (``prev_sha256`` and ``schema`` added), synced to disk.

        Raises
        ------
        FentidError
            The file cannot be written (read-only folder...): the message says where.
        """
        line = {"schema": SCHEMA, **line, "prev_sha256": self._last_sha()}
        data = json.dumps(line, sort_keys=True, ensure_ascii=False, allow_nan=False)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                # a line half-written by a crash stays a line of its own
                lead = b"\n" if self._ends_unterminated() else b""
                os.write(fd, lead + data.encode("utf-8") + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise FentidError(f"cannot write the case record: {exc.strerror or exc}",
                              str(self.path)) from None
        return line


def decision_line(report, index: int, decision: str, analyst: str, comment: str = "",
                  hit: dict | None = None, when: str | None = None) -> dict:
    """The record of one decision on component ``index`` of a CaseReport.

    Parameters
    ----------
    report : fentid.report.CaseReport
    index : int
        Component index in ``report.components``.
    decision : str
        ``accept``, ``reject`` or ``inconclusive``.
    analyst : str
        Who decides (required, non-blank).
    comment : str
    hit : dict, optional
        The hit the viewer showed beside the conclusion (default: the best hit).
    when : str, optional
        ISO 8601 UTC time (default: now).
    """
    from fentid.searching import public_hits

    if decision not in DECISIONS:
        raise FentidError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not analyst or not analyst.strip():
        raise FentidError("a decision needs the analyst's name")
    comp = report.components[index]
    sample = next((s for s in report.samples if s.path == comp.sample), None)
    sha = sample.sha256 if sample is not None else ""
    shown = hit if hit is not None else (comp.hits[0] if comp.hits else None)
    return {
        "kind": "decision", "when": when or _now(), "analyst": analyst.strip(),
        "decision": decision, "comment": comment,
        "component": {"key": component_key(sha, comp.name), "index": index, "name": comp.name,
                      "sample": comp.sample, "sample_sha256": sha,
                      "technique": comp.technique,
                      "retention_time_s": comp.to_dict()["retention_time_s"]},
        "conclusion_shown": comp.conclusion.to_dict(),
        "hit_shown": public_hits([shown])[0] if shown else None,
        "inputs": [{"path": s.path, "sha256": s.sha256, "driver": s.driver}
                   for s in report.samples],
        "library": report.library.to_dict(), "fentid_version": report.fentid_version,
    }


def key_of(report, index: int) -> str:
    """The component key of component ``index`` of a CaseReport."""
    comp = report.components[index]
    sample = next((s for s in report.samples if s.path == comp.sample), None)
    return component_key(sample.sha256 if sample is not None else "", comp.name)
