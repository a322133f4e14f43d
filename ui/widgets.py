"""Small drawing helpers shared by the pages."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st


def chart(fig: go.Figure, key: str, where: Any = None) -> None:
    """Draw a recon_core figure as built: Streamlit's own theme would recolour the heatmaps."""
    (where or st).plotly_chart(fig, key=key, theme=None)
