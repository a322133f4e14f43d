"""The upload widget: recon_core.io loads and validates, this file only shows the outcome.

A failed upload shows its message and leaves the previously loaded data in place.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from recon_core import io as rio
from ui import cached

SIZE_OPTIONS = ["keep", 128, 192, 256, 320]


@st.cache_data(show_spinner="Reading the file…", max_entries=8)
def _load(digest: str, _files: dict[str, bytes], options: dict, size, mode: str) -> dict:
    """Load and prepare an upload; keyed by the content hash and the choices, so read once."""
    loaded = rio.load_files(_files, **options)
    return cached.scan_record(loaded, size, mode)


HELP = ("fastMRI or ISMRMRD .h5, Siemens twix .dat, MATLAB .mat (v5–v7.3), DICOM, NIfTI, PNG/JPEG, "
        ".npy/.npz (image or k-space), or a BART .cfl together with its .hdr.")
CHOICE_KEYS = ("up_slice", "up_key", "up_average", "up_contrast", "up_repetition", "up_pc", "up_zeros")


def _options(same_file: bool, prev: dict | None) -> dict:
    """The loader options chosen below for this file (none for a new file: its defaults)."""
    if not same_file or prev is None:
        return {}
    ss, opts = st.session_state, {}
    if ss.get("up_slice") is not None:
        opts["slice_index"] = int(ss["up_slice"])
    if ss.get("up_key"):
        opts["key"] = ss["up_key"]
    roles = prev.get("axes_roles")
    if roles and all(f"up_axis_{i}" in ss for i in range(len(roles))):
        opts["axes"] = tuple(ss[f"up_axis_{i}"] for i in range(len(roles)))
    for name in ("average", "contrast", "repetition"):
        value = ss.get(f"up_{name}")
        if value not in (None, "all"):
            opts[name] = int(value)
    if "up_pc" in ss:
        opts["phase_correction"] = bool(ss["up_pc"])
    if ss.get("up_zeros") is False:
        opts["detect_undersampling"] = False
    return opts


def _forget_layout() -> None:
    """Another variable has its own axes and slices: drop the previous variable's choices."""
    for key in [k for k in st.session_state if k == "up_slice" or k.startswith("up_axis_")]:
        del st.session_state[key]


def _choosers(rec: dict) -> None:
    """Choosers for what the file holds: variable, axis roles, slice, average, contrast, ..."""
    usable = [v["name"] for v in rec.get("variables", []) if v.get("usable", True)]
    if len(usable) > 1:
        chosen = rec.get("metadata", {}).get("key")
        if st.session_state.get("up_key") not in usable:  # start on the variable the loader chose
            st.session_state["up_key"] = chosen if chosen in usable else usable[0]
        st.selectbox("Variable", usable, key="up_key", on_change=_forget_layout,
                     help="The array of the file to use. " + "; ".join(
                         f"{v['name']}: {'×'.join(map(str, v.get('shape', [])))} {v.get('class', '')}"
                         for v in rec["variables"])[:900])
    roles = rec.get("axes_roles")
    if roles:
        guessed = " — a guess: check it" if rec.get("axes_guessed") else ""
        st.caption(f"Axes: {rec['axes']}{guessed}. Masks undersample the **col** axis "
                   "(phase encode); rows are the readout.")
        cols = st.columns(min(len(roles), 5))
        for i, role in enumerate(roles):
            key = f"up_axis_{i}"
            if key not in st.session_state:
                st.session_state[key] = role
            cols[i % len(cols)].selectbox(f"Axis {i}", rio.AXIS_ROLES, key=key,
                                          help="What this axis of the stored array is: image rows, "
                                               "columns (phase encode), coils, slices, or other "
                                               "(its first entry is used).")
    sel = rec.get("selectable", {})
    if rec["n_slices"] > 1:
        st.number_input("Slice", 0, rec["n_slices"] - 1, key="up_slice",
                        help="Slice (or frame) of the volume, counted from 0.")
    if sel.get("average", 0) > 1:
        st.selectbox("Average", ["all", *range(sel["average"])], key="up_average",
                     help="'all' averages the repeated acquisitions (better SNR); or pick one.")
    for name, what in (("contrast", "Contrast / echo"), ("repetition", "Repetition")):
        if sel.get(name, 0) > 1:
            st.number_input(what, 0, sel[name] - 1, 0, key=f"up_{name}",
                            help=f"Which {name} of the scan to load, counted from 0.")
    read_from_zeros = rec.get("acquired") is not None and "the zero samples" in rec["description"]
    if read_from_zeros or st.session_state.get("up_zeros") is False:
        st.toggle("Zeros are unmeasured points", True, key="up_zeros",
                  help="This k-space has holes of exact zeros, read as points the scan never "
                       "acquired (already-undersampled data). Turn off if the data are fully "
                       "sampled and merely hold zeros (e.g. integer k-space rounding to 0).")
    epi = rec.get("epi")
    if epi:
        st.toggle("EPI odd/even phase correction", True, key="up_pc",
                  help="Correct the phase difference of lines read in opposite directions with "
                       "the scan's navigator lines (removes most of the N/2 ghost).")
        st.caption(f"EPI: {epi.get('reflected_lines', 0)} reversed lines flipped; phase correction: "
                   f"{epi.get('phase_correction', 'none')}.")


def uploader() -> None:
    """File uploader with the choosers of what to load; stores the result in session state."""
    exts = sorted({e.split(".")[-1] for e in rio.supported_extensions()})
    files = st.file_uploader("Upload data", type=exts, accept_multiple_files=True, key="up_files",
                             help=HELP)
    size = st.selectbox("Working matrix", SIZE_OPTIONS, index=0, key="up_size",
                        help="'keep' uses the file's size; otherwise crop/pad or resize to a square. "
                             "Already-undersampled k-space can only be resized (in k-space).")
    mode = st.radio("Fit by", ["crop", "resize"], horizontal=True, key="up_mode",
                    help="Crop/pad keeps the pixel size; resize keeps the field of view.")
    prev = st.session_state.get("upload")
    if files:
        names = [f.name for f in files]
        is_pair = len(files) == 2 and {n.rsplit(".", 1)[-1].lower() for n in names} == {"cfl", "hdr"}
        if len(files) > 1 and not is_pair:  # the list keeps earlier uploads: use the newest file
            st.info(f"Using the newest file, {names[-1]}; remove the others from the list above "
                    "(×) to tidy it. Only a BART .cfl with its .hdr is read as a pair.")
            files = files[-1:]
        blobs = {f.name: f.getvalue() for f in files}
        digest = hashlib.sha256(
            b"".join(hashlib.sha256(b).digest() + n.encode() for n, b in sorted(blobs.items()))
        ).hexdigest()
        same_file = prev is not None and prev.get("digest") == digest
        if not same_file and st.session_state.get("up_digest_seen") != digest:
            # a new file opens with its own defaults: forget the previous file's choices
            for key in [k for k in st.session_state if k in CHOICE_KEYS or k.startswith("up_axis_")]:
                del st.session_state[key]
            st.session_state["up_digest_seen"] = digest
        try:
            result = _load(digest, blobs, _options(same_file, prev), size, mode)
        except ValueError as exc:  # DataLoadError and friends: a message for the user
            st.error(f"Could not use {', '.join(blobs)}: {exc}")
            if prev is not None:
                st.info(f"Keeping the previously loaded data: {prev['description']}.")
        else:
            result = {**result, "digest": digest}
            st.session_state["upload"] = prev = result
            if not same_file:
                st.session_state["up_slice"] = result["slice_index"]
            st.success(f"Loaded {result['description']}.")
    elif prev is None:
        st.info("Choose a file to upload. Until then the phantom is shown.")
    if prev is not None:
        _choosers(prev)
