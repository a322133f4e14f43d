"""Plotly figure builders shared by the pages (pure plotly, no Streamlit, unit-tested).

Images are shown with ``origin`` at the top-left like a radiology viewer; k-space axes are
labelled in centred frequency indices (kx, ky), with DC at (0, 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go
import plotly.io as pio
from numpy.typing import ArrayLike
from plotly.subplots import make_subplots

from recon_core.checks import as_array

__all__ = ["rgb_colorscale", "quantise", "Quantised", "heatmap_trace", "heatmap_values", "decibels",
           "image_figure", "kspace_axes", "images_row", "curves_figure", "psf_figure", "snr_order", "trajectory_figure",
           "trajectory_animation", "image_margins", "data_revision", "dark_layout", "untemplated"]

# plotly's dark template, reduced to what these figures use: the full one is 6.8 kB of JSON
# in every figure sent to the browser, this is 0.6 kB.
_AXIS = dict(gridcolor="#283442", linecolor="#506784", zerolinecolor="#283442", ticks="",
             automargin=True, title=dict(standoff=15))
DARK = dict(layout=dict(  # a dict: plotly validates it 3× faster than a Template object
    paper_bgcolor="rgb(17,17,17)", plot_bgcolor="rgb(17,17,17)", font=dict(color="#f2f5fa"),
    colorway=["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692",
              "#B6E880", "#FF97FF", "#FECB52"],
    hovermode="closest", hoverlabel=dict(align="left"), xaxis=_AXIS, yaxis=_AXIS,
    updatemenudefaults=dict(bgcolor="#506784", borderwidth=0),
    sliderdefaults=dict(bgcolor="#C8D4E3", borderwidth=1, bordercolor="rgb(17,17,17)", tickwidth=0),
))
# Registered by name: plotly then reuses the validated template instead of validating the
# dict in every figure (5 ms instead of 11 ms per image figure).
DARK_TEMPLATE = "recon_lab_dark"
pio.templates[DARK_TEMPLATE] = go.layout.Template(DARK)
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template=DARK_TEMPLATE)


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


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
MIN_LEVELS = 100  # an image's colour window spans at least this many display steps


@dataclass(frozen=True)
class Quantised:
    """An image as integer codes in decimal display units: ``value ≈ codes * step``.

    Attributes:
        codes: the smallest integer dtype that holds them (uint8 where it can); values beyond
            its range (far outside the colour window) saturate.
        step: a power of ten, ``10**exponent``.
        exponent: its exponent.
        suffix: how the hover text writes the unit after the code ("" for step 1, "%" and "‰"
            for fractions, else ``×10ⁿ``).
    """

    codes: np.ndarray
    step: float
    exponent: int
    suffix: str


def quantise(image: ArrayLike, zmin: float, zmax: float, *, min_levels: int = MIN_LEVELS,
             percent: bool = False) -> Quantised:
    """Integer codes of a real image, in the decimal step that resolves its colour window.

    The browser receives these codes instead of float32 values (1 byte per pixel where they fit,
    else 2), and the hover text shows the code with its unit, so the value it shows is exact to
    the shown precision. The step is the largest power of ten that divides ``[zmin, zmax]``
    into at least ``min_levels`` steps (a screen shows at most 256 grey levels).

    Args:
        image: real (H, W) array; NaN and ±inf are drawn as 0.
        zmin, zmax: the colour window (``zmax > zmin``).
        min_levels: at least this many steps across the window (1 for masks: step 1).
        percent: the values are fractions (of the reference maximum, say): write a step of
            10⁻² as "%" and 10⁻³ as "‰" instead of ×10⁻² and ×10⁻³.

    >>> q = quantise([[0.0, 0.456], [1.0, 0.999]], 0.0, 1.0, percent=True)
    >>> q.codes.tolist(), q.step, q.suffix, q.codes.dtype.name
    ([[0, 46], [100, 100]], 0.01, '%', 'uint8')
    >>> quantise([[-3.0, -1.2]], -4.0, 0.0).suffix
    ' ×10⁻²'
    """
    a = np.asarray(image, dtype=np.float32)
    if not np.isfinite(a).all():
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    span = float(zmax) - float(zmin)
    if not (np.isfinite(span) and span > 0):
        raise ValueError(f"the colour window must have zmax > zmin, got [{zmin}, {zmax}]")
    if int(min_levels) < 1:
        raise ValueError(f"min_levels must be >= 1, got {min_levels}")
    exponent = int(np.floor(np.log10(span / int(min_levels)) + 1e-9))
    step = 10.0 ** exponent
    codes = np.rint(a * np.float32(1.0 / step)) if exponent < 0 else np.rint(a / np.float32(step))
    lo, hi = (float(codes.min()), float(codes.max())) if codes.size else (0.0, 0.0)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            break
    info = np.iinfo(dtype)
    codes = np.clip(codes, info.min, info.max).astype(dtype)
    if percent and exponent in (-2, -3):
        suffix = {-2: "%", -3: "‰"}[exponent]
    elif exponent == 0:
        suffix = ""
    else:
        suffix = " ×10" + str(exponent).translate(_SUPERSCRIPT)
    return Quantised(codes, step, exponent, suffix)


def decibels(magnitude: ArrayLike, *, floor: float = -120.0) -> np.ndarray:
    """20·log10(|a| / max |a|) in dB (0 dB at the maximum), floored at ``floor`` dB.

    The log displays (k-space magnitude, PSF) show dB: whole numbers in the hover text.

    >>> decibels([1.0, 0.1, 0.0]).tolist()
    [0.0, -20.0, -120.0]
    """
    a = np.abs(np.asarray(magnitude)).astype(np.float64)
    peak = float(a.max()) if a.size else 0.0
    if not peak > 0:
        return np.full(a.shape, float(floor), dtype=np.float32)
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(a / peak)
    return np.maximum(out, float(floor)).astype(np.float32)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10.0 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    return np.arange(np.ceil(lo / step) * step, hi + step * 1e-6, step)


def heatmap_trace(a: np.ndarray, zmin: float | None, zmax: float | None, colorscale: list, *,
             value_label: str, xl: str, yl: str, x=None, y=None, percent: bool = False,
             min_levels: int = MIN_LEVELS, showscale: bool = True, unit: str = "") -> go.Heatmap:
    """A heatmap trace of the real (H, W) array ``a`` carried as integer codes
    (:func:`quantise`), with a colour bar labelled in values and hover text that writes the
    code in its unit (``unit`` follows it: "dB", "°").

    ``zmin``/``zmax`` None: the data range. ``colorscale``: stops (:func:`rgb_colorscale`).
    ``x``/``y``: the column/row coordinates (default 0..W-1, 0..H-1), labelled ``xl``/``yl``.
    An image whose rows are all equal (a column mask) is sent as one row drawn at full height.
    """
    finite = a[np.isfinite(a)]
    lo = float(finite.min()) if zmin is None and finite.size else float(zmin if zmin is not None else 0)
    hi = float(finite.max()) if zmax is None and finite.size else float(zmax if zmax is not None else 1)
    if not hi > lo:
        hi = lo + (1.0 if lo == 0 else abs(lo))
    q = quantise(a, lo, hi, min_levels=min_levels, percent=percent)
    ticks = _nice_ticks(lo, hi)
    kw = dict(x=x, y=y)
    hover_y = f"{yl}=%{{y}}<br>"
    if a.shape[0] > 1 and np.array_equal(q.codes, np.broadcast_to(q.codes[:1], q.codes.shape)):
        # the same in every row (a column mask): one row, drawn over the full height
        rows = np.arange(a.shape[0]) if y is None else np.asarray(y, dtype=float)
        kw = dict(x=x, y0=float(rows.mean()), dy=float(a.shape[0] * (rows[1] - rows[0])))
        q = Quantised(q.codes[:1], q.step, q.exponent, q.suffix)
        hover_y = f"every {yl}<br>"
    z, scale, value = q.codes, q.step, f"%{{z}}{q.suffix}"
    if np.isnan(a).any():  # gaps (outside a support) stay gaps: float32, rounded to the step
        z = np.where(np.isnan(a[: q.codes.shape[0]]), np.nan, q.codes * q.step).astype(np.float32)
        scale, value = 1.0, f"%{{z:.{max(0, -q.exponent)}f}}"
    # Evenly spaced coordinates travel as a start and a step, not as arrays: fewer bytes, and
    # plotly.js compares scalars by value when Streamlit hands it the figure a second time
    # (arrays by identity: a second full draw).
    for axis in ("x", "y"):
        c = kw.get(axis)
        if c is not None and len(c) > 1 and np.allclose(np.diff(c), c[1] - c[0]):
            kw[f"{axis}0"], kw[f"d{axis}"] = float(c[0]), float(c[1] - c[0])
            kw[axis] = None
    return go.Heatmap(
        z=z, colorscale=colorscale, zmin=lo / scale, zmax=hi / scale, showscale=showscale,
        hovertemplate=f"{xl}=%{{x}}<br>{hover_y}{value_label}={value}{unit}<extra></extra>",
        colorbar=dict(thickness=10, tickvals=(ticks / scale).tolist(),
                      ticktext=[f"{round(t, 9):.6g}" for t in ticks]),
        meta=scale, **kw,  # the value of one code (a number: plotly.js compares it by value)
    )


def heatmap_values(trace) -> np.ndarray:
    """The values a heatmap of these figures shows: its codes times its step (float64)."""
    meta = trace.get("meta") if isinstance(trace, dict) else trace.meta
    step = 1.0 if meta is None else meta
    z = trace["z"] if isinstance(trace, dict) else trace.z
    return np.asarray(z, dtype=np.float64) * float(step)


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
    percent: bool = False,
    min_levels: int = MIN_LEVELS,
    unit: str = "",
    colorbar: bool = True,
) -> go.Figure:
    """A square heatmap of a real 2-D array with hover showing coordinates and value.

    The values travel as integer codes (:func:`quantise`): 1 byte per pixel for most images
    instead of 4, and the hover writes each value exactly to its shown precision.

    Args:
        image: real array (H, W).
        title: figure title.
        zmin, zmax: colour window; default the data range.
        colorscale: plotly colour scale name.
        kspace: label axes kx/ky in centred indices instead of pixel x/y.
        value_label: name of the value in the hover text.
        percent: the values are fractions (intensities relative to the reference maximum):
            hover in % or ‰.
        min_levels: at least this many display steps across the window (1: whole numbers).
        unit: written after the value in the hover text ("dB", "°").
        colorbar: draw the colour bar (False for a binary mask: black and white say it all).
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
        x, y, xl, yl = None, None, "x", "y"
    trace = heatmap_trace(a, zmin, zmax, _scale, value_label=value_label, xl=xl, yl=yl, x=x, y=y,
                          percent=percent, min_levels=min_levels, unit=unit, showscale=colorbar)
    # Fixed ranges, the image's extent (rows downwards): plotly.js would otherwise write the
    # autorange it computed back into the figure, and redraw it when Streamlit hands it over a
    # second time.
    cols = np.arange(a.shape[1], dtype=float) if x is None else np.asarray(x, dtype=float)
    rows = np.arange(a.shape[0], dtype=float) if y is None else np.asarray(y, dtype=float)
    half_x = (cols[1] - cols[0]) / 2 if cols.size > 1 else 0.5
    half_y = (rows[1] - rows[0]) / 2 if rows.size > 1 else 0.5
    # one construction with the whole layout: plotly's update_* calls cost ~15 ms per figure
    fig = go.Figure(data=[trace], layout=dark_layout(dict(
        template="none", title=dict(text=title), height=height,
        margin=image_margins(trace.colorbar.ticktext if trace.showscale else None),
        yaxis=dict(range=[rows[-1] + half_y, rows[0] - half_y], autorange=False, scaleanchor="x",
                   constrain="domain", title=dict(text=yl), automargin=False),
        xaxis=dict(range=[cols[0] - half_x, cols[-1] + half_x], autorange=False, constrain="domain",
                   title=dict(text=xl), automargin=False))))
    fig.layout.template = None  # the style is in the layout itself (see dark_layout)
    return fig


def dark_layout(layout: dict) -> dict:
    """``layout`` with the dark style written into it, for a figure without a template.

    The style is what :data:`DARK_TEMPLATE` gives; values already in ``layout`` win, and the
    axis style goes into every ``xaxis*``/``yaxis*`` of it. Why not the template: Streamlit
    hands each chart to plotly.js twice when it mounts it, the second time as a fresh copy, and
    plotly.js compares a template by identity, so it recomputed and redrew the whole figure
    the second time (measured on the Mask designer: 8 heatmap draws per slider step, not 4).
    """
    return _styled(layout, DARK["layout"])


def _styled(layout: dict, style: dict) -> dict:
    """``layout`` over the template layout ``style``: nested dicts merged one level down, the
    style's axis defaults in every axis, its ``*defaults`` in every item of the lists."""
    axis_keys = ("xaxis", "yaxis")
    out = {k: v for k, v in style.items() if k not in axis_keys and not k.endswith("defaults")}
    for k, v in layout.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    for k in {*axis_keys, *(k for k in layout if k.startswith(axis_keys))}:
        default = style.get(k.rstrip("0123456789"), {})
        axis = layout.get(k) or {}
        title = {**default.get("title", {}), **axis.get("title", {})}
        # plotly.js draws an axis line when the layout (not a template) names its colour
        lines = {"showline": False} if "linecolor" in default else {}
        out[k] = {**default, **lines, **axis, **({"title": title} if title else {})}
    for k, default in style.items():
        if k.endswith("defaults") and isinstance(layout.get(k[:-8] + "s"), (list, tuple)):
            out[k[:-8] + "s"] = [{**default, **item} for item in layout[k[:-8] + "s"]]
    return out


def untemplated(fig: go.Figure) -> go.Figure:
    """``fig`` with its template's layout written into its layout and the template dropped (in
    place; also returned). A figure whose template styles traces, or has none, is left as is.

    See :func:`dark_layout` for why: a figure without a template is drawn once, not twice, when
    Streamlit mounts it.
    """
    template = fig.layout.template
    if template is None or template.data.to_plotly_json():
        return fig
    style = template.layout.to_plotly_json()
    if not style:
        return fig
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    fig.layout = go.Layout(_styled(layout, style), template="none")
    fig.layout.template = None
    return fig


def image_margins(colorbar_labels: Sequence[str] | None) -> dict:
    """Fixed margins for an image figure: room for the axis labels and titles, and for a colour
    bar with these tick labels (None: no colour bar).

    Fixed, not grown by plotly to fit (``autoexpand``): growing them makes plotly.js lay the
    figure out and draw it a second time, which doubled a heatmap figure's drawing time in the
    browser (4 image figures: 173–215 ms with, 89 ms without, in Debian's chromium).
    """
    right = 10 if colorbar_labels is None else 49 + 7 * max(map(len, colorbar_labels), default=1)
    return dict(l=45, r=right, t=40, b=51, autoexpand=False)


def images_row(
    images: Mapping[str, ArrayLike],
    *,
    zmin: float | None = 0.0,
    zmax: float | None = None,
    colorscale: str = "gray",
    height: int = 320,
    percent: bool = False,
    value_label: str = "value",
) -> go.Figure:
    """Several 2-D images side by side on one shared colour scale (titles from the keys)."""
    if not images:
        raise ValueError("images is empty")
    arrays = {k: np.real(as_array(v, k)).astype(np.float32) for k, v in images.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(f"images must all be 2-D with one shape, got {sorted(shapes)}")
    if zmax is None:
        zmax = float(max(np.nanmax(a) for a in arrays.values()))
    if zmin is None:
        zmin = float(min(np.nanmin(a) for a in arrays.values()))
    _scale = rgb_colorscale(colorscale)
    fig = make_subplots(rows=1, cols=len(arrays), subplot_titles=list(arrays),
                        horizontal_spacing=0.02)
    for i, a in enumerate(arrays.values(), start=1):
        fig.add_trace(heatmap_trace(a, zmin, zmax, _scale, value_label=value_label, xl="x", yl="y",
                               percent=percent, showscale=(i == len(arrays))),
                      row=1, col=i)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i if i > 1 else ''}",
                         showticklabels=False, row=1, col=i)
        fig.update_xaxes(showticklabels=False, row=1, col=i)
    fig.update_layout(height=height, **_LAYOUT)
    return fig


def data_revision(fig: go.Figure) -> str:
    """A short digest of the figure's traces, for ``layout.datarevision``.

    With a ``datarevision`` set, plotly.js decides whether the data changed from it alone,
    instead of from the identity of the data arrays. Streamlit hands every chart to plotly.js
    twice when it mounts it (the second time re-themed, as new arrays of the same values),
    and without it plotly.js recomputes and redraws the whole heatmap the second time; with it
    that second pass changes nothing. Equal data give equal digests.
    """
    import hashlib

    h = hashlib.blake2b(digest_size=8)

    def feed(v) -> None:
        if isinstance(v, np.ndarray):
            h.update(f"{v.dtype}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, dict):
            for k in sorted(v):
                h.update(str(k).encode())
                feed(v[k])
        elif isinstance(v, (list, tuple)):
            h.update(b"[")
            for x in v:
                feed(x)
            h.update(b"]")
        else:
            h.update(repr(v).encode())

    for trace in fig.data:
        feed(trace.to_plotly_json())
    return h.hexdigest()


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
    # log axes label powers of ten as 10⁻⁴, not with SI prefixes ("100μ", "1p")
    if log_y:
        fig.update_yaxes(type="log", exponentformat="power")
    if log_x:
        fig.update_xaxes(type="log", exponentformat="power")
    return fig


def psf_figure(psf: ArrayLike, axis: int | None = None, title: str = "PSF", *,
               floor: float = -80.0, height: int = 320) -> go.Figure:
    """A point spread function (peak 1) in dB: an image, or for a line mask (``axis`` -1:
    whole columns sampled, -2: whole rows; :func:`recon_core.masks.line_axis`) its one non-zero
    line, through the centre along that axis, as a profile: as an image that line is a single
    row or column of pixels, too thin to read.

    >>> import numpy as np
    >>> p = np.zeros((4, 6), np.float32); p[2] = [0.01, 0.1, 0.01, 1.0, 0.01, 0.1]
    >>> fig = psf_figure(p, -1)
    >>> [int(v) for v in fig.data[0].x], [round(v) for v in fig.data[0].y]
    ([-3, -2, -1, 0, 1, 2], [-40, -20, -40, 0, -40, -20])
    """
    a = as_array(psf, "psf")
    if a.ndim != 2:
        raise ValueError(f"psf must be 2-D (H, W), got shape {a.shape}")
    if axis is None:
        return image_figure(decibels(a, floor=floor), f"{title} (dB)", zmin=floor, zmax=0,
                            colorscale="viridis", value_label="PSF", unit=" dB", min_levels=50,
                            height=height)
    if axis not in (-1, -2):
        raise ValueError(f"axis must be -1 (columns), -2 (rows) or None, got {axis!r}")
    h, w = a.shape
    name, line = ("x", a[h // 2, :]) if axis == -1 else ("y", a[:, w // 2])
    offsets = np.arange(line.size) - line.size // 2
    fig = curves_figure({"PSF": decibels(line, floor=floor)}, offsets, title=f"{title} along {name} (dB)",
                        xlabel=f"{name} offset (pixels)", ylabel="dB", height=height)
    fig.update_traces(hovertemplate=f"{name} offset=%{{x}}<br>PSF=%{{y:.1f}} dB<br>(zero off this "
                                    "line)<extra></extra>")
    fig.update_yaxes(range=[floor - 2, 3])
    fig.update_layout(showlegend=False)
    return fig


def snr_order(snr_db: Sequence[float | None]) -> list[int]:
    """Indices of ``snr_db`` from the lowest SNR to noiseless (``None``) last: the order of
    :func:`snr_figure`'s x-axis, for tables beside it.

    >>> snr_order([None, 40.0, 30.0, 20.0])
    [3, 2, 1, 0]
    """
    return sorted(range(len(snr_db)), key=lambda i: np.inf if snr_db[i] is None else snr_db[i])


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
    order = snr_order(snr_db)
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
        # the buttons on a row of their own, the slider (and its "readouts: N" label) under
        # them: side by side, the buttons covered the label in a half-page-wide figure
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.1, xanchor="left",
                          yanchor="top", showactive=False, buttons=[
                              dict(label="▶ Play", method="animate", args=[None, anim]),
                              dict(label="❚❚ Pause", method="animate",
                                   args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                      mode="immediate")])])],
        sliders=[dict(active=0, x=0.0, len=1.0, y=-0.2, yanchor="top", currentvalue=dict(prefix="readouts: "),
                      steps=[dict(label=str(e), method="animate",
                                  args=[[str(e)], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                       transition=dict(duration=0))])
                             for e in ends])])
    _kspace_layout(fig, traj.shape, title, height + 60)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=130))
    return fig
