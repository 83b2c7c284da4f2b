"""HDF5 reference library, curation and search index (the only place h5py is imported)."""
