"""Parsers of files whose libraries are not safe against hostile input, run in a helper process.

The HDF5 C library (fastMRI, ISMRMRD and MATLAB v7.3 files), SciPy's MAT-file reader and
twixtools can crash, spin or allocate without bound on a corrupt or malicious file. So the
loaders of :mod:`recon_core.io` run these parsers in a child Python process with a memory cap
and a timeout (:mod:`recon_core.io.isolated`); a crash, hang or memory error there becomes a
:class:`~recon_core.io.limits.DataLoadError` in the app.

Rules for the modules here, because the helper process imports this package *on its own*
(as the top-level package ``readers``, not as ``recon_core.io.readers``):

* import only the standard library, NumPy and the format's own library (h5py, scipy.io,
  ismrmrd, twixtools), and siblings with *relative* imports; never ``recon_core``;
* each reader is ``read(file, params, limits) -> (meta, arrays)``: ``file`` is a path or a
  binary file object, ``params`` and ``limits`` are JSON-ready dicts, ``meta`` is a JSON-ready
  dict and ``arrays`` maps names to NumPy arrays (complex64, float32, bool or int64);
* bad input raises :class:`~recon_core.io.readers.wire.ReadError` with a message for the user
  and one of the reasons of :data:`recon_core.io.limits.REASONS`.

The readers are listed in :data:`~recon_core.io.readers.wire.READERS`.
"""
