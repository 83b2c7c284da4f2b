"""Colours and pyqtgraph settings shared by every view (one place to change them)."""

from __future__ import annotations

#: Conclusion status -> colour of its markers and table cells.
STATUS_COLOURS = {
    "identified": "#1a9641",
    "isomer_group": "#7b3294",
    "tentative": "#e08214",
    "no_match": "#9e9e9e",
}
#: Decision -> colour.
DECISION_COLOURS = {"accept": "#1a9641", "reject": "#d7191c", "inconclusive": "#e08214"}
#: Mirror plot: peaks both spectra have, only the query has, only the reference has.
MATCHED = "#1f78b4"
QUERY_ONLY = "#e31a1c"
REFERENCE_ONLY = "#ff7f00"
#: The scanned m/z range (shaded behind a mirror plot).
SCANNED_RANGE = (31, 120, 180, 28)
TIC = "#303030"
TRACE_COLOURS = ("#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928")
NMR_LINE = "#1f3b73"
INTEGRAL = "#33a02c"
SOLVENT = "#b15928"


def configure_pyqtgraph() -> None:
    """White background, dark foreground, antialiased lines (called once per process)."""
    import pyqtgraph as pg

    pg.setConfigOptions(background="w", foreground="k", antialias=True)
