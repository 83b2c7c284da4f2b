"""The common model, processing, peak picking and scores (numpy, scipy only)."""

from fentid.spectra.model import (
    Dataset,
    Fid,
    PeakList,
    Provenance,
    RecordProblem,
    Run,
    Spectrum,
    Step,
    hash_source,
)

__all__ = ["Dataset", "Fid", "PeakList", "Provenance", "RecordProblem", "Run", "Spectrum",
           "Step", "hash_source"]
