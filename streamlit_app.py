"""MRI Recon Lab: entry point. Shared settings and navigation; every page lives in pages/.

The pages' helpers live in ``ui/`` (not in ``pages/``, where Streamlit would list them).
"""

from __future__ import annotations

import streamlit as st

from ui import gc_tuning, state

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/explorer.py", title="K-space explorer", icon=":material/grid_on:"),
    st.Page("pages/masks.py", title="Mask designer", icon=":material/texture:"),
    st.Page("pages/tv.py", title="TV reconstruction", icon=":material/auto_graph:"),
    st.Page("pages/coils.py", title="Coils and parallel imaging", icon=":material/sensors:"),
    st.Page("pages/deep_learning.py", title="Deep learning", icon=":material/neurology:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
]


def run() -> None:
    st.set_page_config(page_title="MRI Recon Lab", page_icon=":material/blur_on:", layout="wide")
    page = st.navigation(PAGES)
    state.entry_point_ran()
    state.init()  # once per run, for every page: settings from the URL, warnings for bad values
    try:
        page.run()
    finally:
        gc_tuning.after_run()  # Streamlit's Keras clean-up after each run costs 0.4 s otherwise


if __name__ == "__main__":
    run()
