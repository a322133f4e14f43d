"""The upload widget: recon_core.io loads and validates, this file only shows the outcome.

A failed upload shows its message and leaves the previously loaded data in place.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from recon_core import io as rio

SIZE_OPTIONS = ["keep", 128, 192, 256, 320]


@st.cache_data(show_spinner="Reading the file…", max_entries=8)
def _load(digest: str, _files: dict[str, bytes], slice_index: int | None, size, mode: str) -> dict:
    """Load and prepare an upload; keyed by the content hash so a file is read once."""
    loaded = rio.load_files(_files, slice_index=slice_index)
    prepared = rio.prepare(loaded, None if size == "keep" else int(size), mode)
    if prepared.kspace is None:
        from recon_core import fft2c

        kspace = fft2c(prepared.image)
    else:
        kspace = np.array(prepared.kspace)
    return {
        "truth": np.array(prepared.target, dtype=np.float32),
        "kspace": kspace.astype(np.complex64),
        "description": prepared.source,
        "n_slices": loaded.n_slices,
        "slice_index": loaded.slice_index,
        "n_coils": prepared.n_coils,
        "scale": float(prepared.scale),
    }


def uploader() -> None:
    """File uploader plus slice and size choices; stores the result in session state."""
    exts = sorted({e.split(".")[-1] for e in rio.supported_extensions()})
    files = st.file_uploader(
        "Upload data", type=exts, accept_multiple_files=True, key="up_files",
        help="fastMRI .h5 (single- or multi-coil k-space), DICOM, NIfTI, PNG/JPEG, .npy/.npz "
             "(image or k-space), or a BART .cfl together with its .hdr.",
    )
    size = st.selectbox("Working matrix", SIZE_OPTIONS, index=0, key="up_size",
                        help="'keep' uses the file's size; otherwise crop/pad or resize to a square.")
    mode = st.radio("Fit by", ["crop", "resize"], horizontal=True, key="up_mode",
                    help="Crop/pad keeps the pixel size; resize keeps the field of view.")
    prev = st.session_state.get("upload")
    if files:
        blobs = {f.name: f.getvalue() for f in files}
        digest = hashlib.sha256(
            b"".join(hashlib.sha256(b).digest() + n.encode() for n, b in sorted(blobs.items()))
        ).hexdigest()
        same_file = prev is not None and prev.get("digest") == digest
        # A new file opens on its middle slice; the same file keeps the slice chosen below.
        slice_index = st.session_state.get("up_slice") if same_file else None
        try:
            result = _load(digest, blobs, slice_index, size, mode)
        except ValueError as exc:  # DataLoadError and friends: a message for the user
            st.error(f"Could not use {', '.join(blobs)}: {exc}")
            if prev is not None:
                st.info(f"Keeping the previously loaded data: {prev['description']}.")
        else:
            result["digest"] = digest
            st.session_state["upload"] = prev = result
            if not same_file:
                st.session_state["up_slice"] = result["slice_index"]
            st.success(f"Loaded {result['description']}.")
    elif prev is None:
        st.info("Choose a file to upload. Until then the phantom is shown.")
    if prev is not None and prev["n_slices"] > 1:
        st.number_input("Slice", 0, prev["n_slices"] - 1, key="up_slice",
                        help="Slice (or frame) of the volume, counted from 0.")
