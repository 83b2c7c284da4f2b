"""The case archive: every component fentid concluded on, for re-screening later.

``fentid identify --archive DIR`` and the watch-folder service (its ``archive`` setting) add
each case; ``fentid rescreen DIR`` searches the archived peak lists against a newer library
(:mod:`fentid.archive.rescreen`, on Dask).  Storage: :mod:`fentid.archive.store` (Parquet
through pyarrow, the ``distributed`` extra)::

    from fentid.archive import open_archive

    archive = open_archive("/srv/fentid/archive")
    archive.add(fentid.identify("run.D", library=lib))    # or (report_dict, acquisition path)
"""

from fentid.archive.store import Archive, open_archive, read_table

__all__ = ["Archive", "open_archive", "read_table"]
