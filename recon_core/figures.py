"""Plotly figure builders shared by the pages (pure plotly, no Streamlit, unit-tested).

Images are shown with ``origin`` at the top-left like a radiology viewer; k-space axes are
labelled in centred frequency indices (kx, ky), with DC at (0, 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go
from numpy.typing import ArrayLike
from plotly.subplots import make_subplots

from recon_core.checks import as_array

__all__ = ["rgb_colorscale", "image_figure", "kspace_axes", "images_row", "curves_figure",
           "trajectory_figure", "trajectory_animation"]

_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_dark")


def rgb_colorscale(name: str) -> list[list]:
    """A named plotly colour scale as explicit ``[position, "rgb(r, g, b)"]`` stops.

    Streamlit's bundled plotly.js misreads some hex stops (inferno's ``#000004`` is drawn
    violet), so the figures carry rgb() strings.
    """
    try:
        stops = pcolors.get_colorscale(name)
    except Exception as exc:
        raise ValueError(f"unknown colour scale {name!r}") from exc
    out = []
    for pos, col in stops:
        if col.startswith("#"):
            col = "rgb({}, {}, {})".format(*pcolors.hex_to_rgb(col))
        out.append([pos, col])
    return out


def kspace_axes(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Centred frequency indices (ky, kx) for a (H, W) k-space: DC is (0, 0)."""
    h, w = shape
    return np.arange(h) - h // 2, np.arange(w) - w // 2


def image_figure(
    image: ArrayLike,
    title: str = "",
    *,
    zmin: float | None = None,
    zmax: float | None = None,
    colorscale: str = "gray",
    kspace: bool = False,
    value_label: str = "value",
    height: int = 360,
) -> go.Figure:
    """A square heatmap of a real 2-D array with hover showing coordinates and value.

    Args:
        image: real array (H, W).
        title: figure title.
        zmin, zmax: colour window; default the data range.
        colorscale: plotly colour scale name.
        kspace: label axes kx/ky in centred indices instead of pixel x/y.
        value_label: name of the value in the hover text.
    """
    a = as_array(image, "image")
    if a.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {a.shape}")
    a = np.real(a).astype(np.float32)
    _scale = rgb_colorscale(colorscale)
    if kspace:
        ky, kx = kspace_axes(a.shape)
        x, y, xl, yl = kx, ky, "kx", "ky"
    else:
        x, y, xl, yl = np.arange(a.shape[1]), np.arange(a.shape[0]), "x", "y"
    fig = go.Figure(
        go.Heatmap(
            z=a, x=x, y=y, colorscale=_scale, zmin=zmin, zmax=zmax,
            hovertemplate=f"{xl}=%{{x}}<br>{yl}=%{{y}}<br>{value_label}=%{{z:.4g}}<extra></extra>",
            colorbar=dict(thickness=10),
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", title=yl)
    fig.update_xaxes(constrain="domain", title=xl)
    fig.update_layout(title=title, height=height, **_LAYOUT)
    return fig


def images_row(
    images: Mapping[str, ArrayLike],
    *,
    zmin: float | None = 0.0,
    zmax: float | None = None,
    colorscale: str = "gray",
    height: int = 320,
) -> go.Figure:
    """Several 2-D images side by side on one shared colour scale (titles from the keys)."""
    if not images:
        raise ValueError("images is empty")
    arrays = {k: np.real(as_array(v, k)).astype(np.float32) for k, v in images.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"images must all be 2-D with one shape, got {sorted(shapes)}")
    if zmax is None:
        zmax = float(max(a.max() for a in arrays.values()))
    _scale = rgb_colorscale(colorscale)
    fig = make_subplots(rows=1, cols=len(arrays), subplot_titles=list(arrays),
                        horizontal_spacing=0.02)
    for i, a in enumerate(arrays.values(), start=1):
        fig.add_trace(
            go.Heatmap(z=a, colorscale=_scale, zmin=zmin, zmax=zmax, showscale=(i == len(arrays)),
                       hovertemplate="x=%{x}<br>y=%{y}<br>value=%{z:.4g}<extra></extra>",
                       colorbar=dict(thickness=10)),
            row=1, col=i,
        )
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i if i > 1 else ''}",
                         showticklabels=False, row=1, col=i)
        fig.update_xaxes(showticklabels=False, row=1, col=i)
    fig.update_layout(height=height, **_LAYOUT)
    return fig


def curves_figure(
    series: Mapping[str, Sequence[float]],
    x: Sequence[float] | None = None,
    *,
    title: str = "",
    xlabel: str = "iteration",
    ylabel: str = "",
    log_y: bool = False,
    log_x: bool = False,
    height: int = 300,
) -> go.Figure:
    """Line plot of one or more series against a shared x (default 1..N)."""
    fig = go.Figure()
    for name, ys in series.items():
        ys = np.asarray(ys, dtype=float)
        xs = np.arange(1, len(ys) + 1) if x is None else np.asarray(x, dtype=float)[: len(ys)]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name))
    fig.update_layout(title=title, height=height, xaxis_title=xlabel, yaxis_title=ylabel, **_LAYOUT)
    if log_y:
        fig.update_yaxes(type="log")
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def snr_figure(
    snr_db: Sequence[float | None],
    psnr: Mapping[str, Sequence[Sequence[float]]],
    *,
    title: str = "",
    height: int = 340,
) -> go.Figure:
    """PSNR (mean ± std) of several methods against k-space SNR.

    Args:
        snr_db: the SNRs in dB, ``None`` for noiseless (drawn at the right end, labelled ∞).
        psnr: ``{method: [[mean, std] per SNR]}``.
        title: figure title.
    """
    order = sorted(range(len(snr_db)), key=lambda i: np.inf if snr_db[i] is None else snr_db[i])
    labels = ["∞ (noiseless)" if snr_db[i] is None else f"{snr_db[i]:g} dB" for i in order]
    fig = go.Figure()
    for name, values in psnr.items():
        mean = [values[i][0] for i in order]
        std = [values[i][1] for i in order]
        fig.add_trace(go.Scatter(x=labels, y=mean, mode="lines+markers", name=name,
                                 error_y={"type": "data", "array": std, "visible": True},
                                 hovertemplate="%{x}: %{y:.2f} dB<extra>" + name + "</extra>"))
    fig.update_layout(title=title, height=height, xaxis_title="k-space SNR",
                      yaxis_title="PSNR (dB)", **_LAYOUT)
    return fig


def _decimated(traj, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 2), readout index (N,)) of a trajectory, every k-th sample along each
    readout so that N <= max_points (whole readouts kept: the shape of each stays visible)."""
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    r, s = traj.n_readouts, traj.n_samples
    step = max(1, -(-(r * s) // int(max_points)))
    coord = np.asarray(traj.coord)[:, ::step]
    if coord.size // 2 > max_points:  # more readouts than points allowed: keep some readouts
        coord = coord[:, :1]
        keep = np.linspace(0, r - 1, min(r, max_points)).round().astype(int)
        order = keep
        return coord[keep].reshape(-1, 2), order
    order = np.repeat(np.arange(r), coord.shape[1])
    return coord.reshape(-1, 2), order


def _kspace_layout(fig: go.Figure, shape: tuple[int, int], title: str, height: int) -> None:
    h, w = shape
    fig.update_xaxes(range=[-w / 2, w / 2], title="kx", constrain="domain")
    fig.update_yaxes(range=[h / 2, -h / 2], title="ky", scaleanchor="x", constrain="domain")
    fig.update_layout(title=title, height=height, **_LAYOUT)


def trajectory_figure(traj, title: str = "", *, max_points: int = 20_000,
                      height: int = 360) -> go.Figure:
    """Scatter of a trajectory's k-space points coloured by acquisition order (readout index).

    Args:
        traj: a :class:`recon_core.trajectories.Trajectory` (``coord`` (R, S, 2), ``shape``).
        title: figure title.
        max_points: at most this many points are drawn (samples decimated along readouts).
        height: in pixels.
    """
    pts, order = _decimated(traj, max_points)
    fig = go.Figure(go.Scattergl(
        x=pts[:, 1], y=pts[:, 0], mode="markers",
        marker=dict(size=2, color=order, colorscale=rgb_colorscale("viridis"),
                    colorbar=dict(thickness=10, title="readout")),
        hovertemplate="kx=%{x:.1f}<br>ky=%{y:.1f}<br>readout=%{marker.color}<extra></extra>"))
    _kspace_layout(fig, traj.shape, title, height)
    return fig


def trajectory_animation(traj, title: str = "", *, n_frames: int = 24, max_points: int = 8_000,
                         height: int = 360) -> go.Figure:
    """K-space filling in acquisition order: a plotly animation with play/pause and a slider.

    Frame ``f`` of ``n`` shows the points of the first ``ceil((f + 1) R / n)`` readouts
    (decimated to ``max_points`` in all); at most ``n_frames`` frames, fewer for fewer readouts.

    Raises:
        ValueError: ``n_frames`` < 1 or ``max_points`` < 1.
    """
    if int(n_frames) < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    pts, order = _decimated(traj, max_points)
    r = traj.n_readouts
    n = min(int(n_frames), r)
    ends = [int(np.ceil((f + 1) * r / n)) for f in range(n)]  # readouts acquired after frame f
    scale = rgb_colorscale("viridis")

    def trace(upto: int) -> go.Scatter:
        sel = order < upto
        return go.Scatter(x=pts[sel, 1], y=pts[sel, 0], mode="markers",
                          marker=dict(size=2, color=order[sel], colorscale=scale, cmin=0,
                                      cmax=max(r - 1, 1)),
                          hoverinfo="skip")

    frames = [go.Frame(data=[trace(e)], name=str(e)) for e in ends]
    fig = go.Figure(data=[trace(ends[0])], frames=frames)
    anim = dict(frame=dict(duration=150, redraw=True), transition=dict(duration=0), fromcurrent=True)
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.08, xanchor="left",
                          yanchor="top", showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, anim]),
                              dict(label="❚❚ Pause", method="animate",
                                   args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                      mode="immediate")])])],
        sliders=[dict(active=0, x=0.25, len=0.75, y=-0.05, currentvalue=dict(prefix="readouts: "),
                      steps=[dict(label=str(e), method="animate",
                                  args=[[str(e)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                       transition=dict(duration=0))])
                             for e in ends])])
    _kspace_layout(fig, traj.shape, title, height)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=70))
    return fig
