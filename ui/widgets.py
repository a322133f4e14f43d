"""Small drawing helpers shared by the pages."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st


def chart(fig: go.Figure, key: str, where: Any = None) -> None:
    """Draw a recon_core figure as built: Streamlit's own theme would recolour the heatmaps."""
    (where or st).plotly_chart(fig, key=key, theme=None)


def score_metrics(cols: list, m: dict | None, mz: dict | None, no_reference: str) -> bool:
    """PSNR (with its gain over zero-filled), SSIM and NMSE in ``cols[0:3]``; "—" for PSNR
    when ``m`` is None (no reference: ``no_reference`` is its help). True when scored."""
    if m is None:
        cols[0].metric("PSNR", "—", help=no_reference)
        return False
    cols[0].metric("PSNR", f"{m['psnr']:.2f} dB", f"{m['psnr'] - mz['psnr']:+.1f} dB vs zero-filled")
    cols[1].metric("SSIM", f"{m['ssim']:.4f}", f"{m['ssim'] - mz['ssim']:+.3f}")
    cols[2].metric("NMSE", f"{m['nmse']:.2e}")
    return True
