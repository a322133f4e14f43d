"""MRI Recon Lab: entry point. Navigation only; every page lives in pages/."""

from __future__ import annotations

import streamlit as st

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/explorer.py", title="K-space explorer", icon=":material/grid_on:"),
    st.Page("pages/masks.py", title="Mask designer", icon=":material/texture:"),
    st.Page("pages/tv.py", title="TV reconstruction", icon=":material/auto_graph:"),
    st.Page("pages/deep_learning.py", title="Deep learning", icon=":material/neurology:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
]


def run() -> None:
    st.set_page_config(page_title="MRI Recon Lab", page_icon=":material/blur_on:", layout="wide")
    st.navigation(PAGES).run()


if __name__ == "__main__":
    run()
