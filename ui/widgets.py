"""Small drawing helpers shared by the pages."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st


def chart(fig: go.Figure, key: str, where: Any = None) -> None:
    """Draw a recon_core figure as built: Streamlit's own theme would recolour the heatmaps.

    The figure's template is written into its layout (``recon_core.figures.untemplated``) and
    it gets a ``datarevision`` from its data (``recon_core.figures.data_revision``), so that
    plotly.js draws it once, not twice, when Streamlit mounts it."""
    from recon_core.figures import data_revision, untemplated

    untemplated(fig)  # the image figures have none already
    if fig.layout.datarevision is None:
        fig.layout.datarevision = data_revision(fig)
    (where or st).plotly_chart(fig, key=key, theme=None)


def score_metrics(cols: list, m: dict | None, mz: dict | None, no_reference: str,
                  baseline: str = "zero-filled") -> bool:
    """PSNR (with its gain over the ``baseline``'s ``mz``), SSIM and NMSE in ``cols[0:3]``; "—"
    for PSNR when ``m`` is None (no reference: ``no_reference`` is its help). True when scored."""
    if m is None:
        cols[0].metric("PSNR", "—", help=no_reference)
        return False
    cols[0].metric("PSNR", f"{m['psnr']:.2f} dB", f"{m['psnr'] - mz['psnr']:+.1f} dB vs {baseline}")
    cols[1].metric("SSIM", f"{m['ssim']:.4f}", f"{m['ssim'] - mz['ssim']:+.3f}")
    cols[2].metric("NMSE", f"{m['nmse']:.2e}")
    return True


def image_grid(images: dict, n_cols: int = 4, *, zmin: float | None = 0.0,
               zmax: float | None = None, colorscale: str = "gray", value_label: str = "value",
               row_height: int = 190, colorbar: bool = True, percent: bool = False,
               unit: str = "") -> go.Figure:
    """Several real (H, W) images of one shape in a grid of ``n_cols`` columns, one colour
    scale (titles from the keys; ``zmax`` default: the largest value; one colour bar, or none
    with ``colorbar=False``). Values travel as integer codes (``recon_core.figures.quantise``;
    ``percent``/``unit`` as in ``image_figure``)."""
    import numpy as np
    from plotly.subplots import make_subplots

    from recon_core.figures import DARK_TEMPLATE, heatmap_trace, rgb_colorscale

    arrays = {k: np.real(np.asarray(v)).astype(np.float32) for k, v in images.items()}
    if not arrays:
        raise ValueError("images is empty")
    n_cols = max(1, min(int(n_cols), len(arrays)))
    n_rows = -(-len(arrays) // n_cols)
    if zmax is None:
        zmax = float(max(np.nanmax(a) for a in arrays.values()))
    if zmin is None:
        zmin = float(min(np.nanmin(a) for a in arrays.values()))
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=list(arrays),
                        horizontal_spacing=0.01, vertical_spacing=0.06 if n_rows > 1 else 0.0)
    scale = rgb_colorscale(colorscale)
    for i, a in enumerate(arrays.values()):
        r, c = divmod(i, n_cols)
        fig.add_trace(heatmap_trace(a, zmin, zmax, scale, value_label=value_label, xl="x", yl="y",
                                    percent=percent, unit=unit, showscale=colorbar and i == 0),
                      row=r + 1, col=c + 1)
        axis = f"x{i + 1 if i else ''}"
        fig.update_yaxes(autorange="reversed", scaleanchor=axis, constrain="domain",
                         showticklabels=False, showgrid=False, zeroline=False, row=r + 1, col=c + 1)
        fig.update_xaxes(constrain="domain", showticklabels=False, showgrid=False, zeroline=False,
                         row=r + 1, col=c + 1)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=40 + row_height * n_rows, margin=dict(l=10, r=10, t=30, b=10),
                      template=DARK_TEMPLATE)
    return fig
