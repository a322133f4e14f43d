"""Plotly figure builders: data placed where the pages expect it, errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.figures import (curves_figure, dark_layout, data_revision, decibels, heatmap_trace,
                                heatmap_values, image_figure, image_margins, images_row, kspace_axes,
                                quantise, rgb_colorscale)


def test_kspace_axes_put_dc_at_zero():
    ky, kx = kspace_axes((5, 8))
    assert list(ky) == [-2, -1, 0, 1, 2]
    assert kx[8 // 2] == 0 and kx[0] == -4


def test_image_figure_holds_the_data_and_window():
    a = np.arange(12, dtype=float).reshape(3, 4)
    fig = image_figure(a, "t", zmin=1, zmax=5, kspace=True)
    hm = fig.data[0]
    np.testing.assert_allclose(heatmap_values(hm), a)  # step 0.01 represents whole numbers exactly
    assert hm.zmin * hm.meta == pytest.approx(1) and hm.zmax * hm.meta == pytest.approx(5)
    # evenly spaced centred indices travel as start and step
    assert (hm.x0, hm.dx, hm.y0, hm.dy) == (-2, 1, -1, 1) and hm.x is None and hm.y is None
    assert "kx=" in hm.hovertemplate
    with pytest.raises(ValueError, match="2-D"):
        image_figure(np.ones((2, 3, 4)))


def test_image_figure_margins_are_fixed_and_fit_its_colour_bar():
    """plotly.js must not grow the margins (a second layout and draw in the browser), so the
    figure reserves the room itself: wider for longer colour-bar labels, none without a bar."""
    fig = image_figure(np.linspace(0, 1, 16).reshape(4, 4), "t", zmin=0, zmax=1)
    m, lay = fig.layout.margin, fig.layout
    assert m.autoexpand is False and lay.xaxis.automargin is False and lay.yaxis.automargin is False
    labels = fig.data[0].colorbar.ticktext
    assert m.r == image_margins(labels)["r"] > image_margins(["0"])["r"]
    assert image_margins(["-120", "0.0025"])["r"] > image_margins(["-80"])["r"]
    bare = image_figure(np.eye(4), "mask", zmin=0, zmax=1, min_levels=1, colorbar=False)
    assert bare.data[0].showscale is False and bare.layout.margin.r == image_margins(None)["r"] < m.r


def test_images_row_shares_one_colour_scale():
    fig = images_row({"a": np.zeros((4, 4)), "b": np.full((4, 4), 3.0)}, zmin=0.0)
    assert len(fig.data) == 2
    assert [d.zmax * d.meta for d in fig.data] == [pytest.approx(3.0)] * 2
    assert [d.showscale for d in fig.data] == [False, True]
    with pytest.raises(ValueError, match="one shape"):
        images_row({"a": np.zeros((4, 4)), "b": np.zeros((5, 4))})
    with pytest.raises(ValueError, match="empty"):
        images_row({})


def test_curves_figure_default_x_is_one_based():
    fig = curves_figure({"psnr": [1.0, 2.0, 3.0]}, log_y=True)
    assert list(fig.data[0].x) == [1, 2, 3]
    assert fig.layout.yaxis.type == "log"


def test_colour_scales_are_rgb_strings():
    # Streamlit's plotly.js draws inferno's first hex stop (#000004) violet: rgb() strings only.
    from recon_core.figures import rgb_colorscale as colorscale

    stops = colorscale("inferno")
    assert stops[0] == [0.0, "rgb(0, 0, 4)"] and all(c.startswith("rgb(") for _, c in stops)
    fig = image_figure(np.zeros((3, 3)), colorscale="inferno")
    assert fig.data[0].colorscale[0][1] == "rgb(0, 0, 4)"
    with pytest.raises(ValueError, match="unknown colour scale"):
        colorscale("no-such-scale")


def test_quantise_picks_the_decimal_step_of_the_window_and_the_smallest_dtype():
    rng = np.random.default_rng(0)
    a = rng.random((64, 64)).astype(np.float32)
    q = quantise(a, 0.0, 1.0, percent=True)
    assert (q.step, q.suffix, q.codes.dtype) == (0.01, "%", np.uint8)
    assert np.max(np.abs(q.codes * q.step - a)) <= 0.005 + 1e-7  # exact to the shown precision
    q = quantise(a * 0.3, 0.0, 0.3, percent=True)  # a narrow window gets a finer step
    assert (q.step, q.suffix) == (0.001, "‰") and q.codes.dtype == np.uint16  # codes up to 300
    q = quantise(np.array([[-80.0, -43.4, 0.0]]), -80.0, 0.0, min_levels=50)
    assert q.codes.tolist() == [[-80, -43, 0]] and q.codes.dtype == np.int8 and q.suffix == ""
    q = quantise(np.array([[1.5, 2.5]]), 1.0, 3.0)  # not a fraction: the power of ten is written out
    assert q.suffix == " ×10⁻²" and q.codes.tolist() == [[150, 250]]
    assert quantise(np.array([[1e6]]), 0.0, 1.0).codes.dtype == np.int32
    with pytest.raises(ValueError, match="zmax > zmin"):
        quantise(a, 1.0, 1.0)
    with pytest.raises(ValueError, match="min_levels"):
        quantise(a, 0.0, 1.0, min_levels=0)


def test_heatmaps_travel_as_one_byte_per_pixel_and_hover_in_their_unit():
    rng = np.random.default_rng(1)
    img = rng.random((256, 256)).astype(np.float32)
    fig = image_figure(img, zmin=0, zmax=1, value_label="|x|", percent=True)
    hm = fig.data[0]
    assert hm.z.dtype == np.uint8 and hm.hovertemplate.endswith("|x|=%{z}%<extra></extra>")
    assert len(fig.to_json()) < 100_000  # float32 values were 350 kB of base64
    assert list(hm.colorbar.ticktext) == ["0", "0.25", "0.5", "0.75", "1"]
    np.testing.assert_allclose(np.asarray(hm.colorbar.tickvals) * hm.meta, [0, 0.25, 0.5, 0.75, 1])
    db = image_figure(np.array([[-80.0, -3.0], [0.0, -60.0]]), zmin=-80, zmax=0, value_label="PSF",
                      unit=" dB", min_levels=50)
    assert db.data[0].hovertemplate.endswith("PSF=%{z} dB<extra></extra>")


def test_a_column_mask_is_sent_as_one_row_drawn_at_full_height():
    m = np.zeros((6, 8), dtype=np.float32)
    m[:, ::2] = 1
    hm = image_figure(m, kspace=True, zmin=0, zmax=1, min_levels=1).data[0]
    assert np.asarray(hm.z).shape == (1, 8) and "every ky" in hm.hovertemplate
    assert hm.dy == 6 and hm.y0 == pytest.approx(np.mean(np.arange(6) - 3))
    m[2, 1] = 1  # no longer the same in every row: all rows are sent
    assert np.asarray(image_figure(m, kspace=True, zmin=0, zmax=1).data[0].z).shape == (6, 8)


def test_gaps_stay_gaps():
    a = np.array([[np.nan, 0.5], [1.0, 0.25]], dtype=np.float32)
    hm = heatmap_trace(a, 0.0, 1.0, rgb_colorscale("gray"), value_label="v", xl="x", yl="y")
    z = np.asarray(hm.z, dtype=float)
    assert np.isnan(z[0, 0]) and z[1, 0] == pytest.approx(1.0) and "%{z:.2f}" in hm.hovertemplate


def test_decibels_are_relative_to_the_maximum_and_floored():
    np.testing.assert_allclose(decibels(np.array([2.0, 0.2, 0.0]), floor=-60), [0, -20, -60], atol=1e-5)
    assert np.all(decibels(np.zeros(3)) == -120)


def test_figures_carry_a_small_dark_template():
    fig = curves_figure({"a": [1.0, 2.0]}, title="t")
    assert fig.layout.template.layout.paper_bgcolor == "rgb(17,17,17)"
    assert len(fig.layout.template.to_plotly_json().__repr__()) < 1500  # plotly_dark: 6,800


def test_image_figures_carry_the_dark_style_in_their_layout_not_a_template():
    """No template at all in the JSON (plotly.js compares templates by identity: a second draw
    when Streamlit mounts the chart), the same colours written into the layout, and the
    figure's own axis settings over the style's."""
    fig = image_figure(np.zeros((2, 2)), "t")
    assert "template" not in fig.to_dict()["layout"]
    lay = fig.layout
    assert lay.paper_bgcolor == "rgb(17,17,17)" and lay.font.color == "#f2f5fa"
    assert lay.xaxis.gridcolor == "#283442" and lay.xaxis.automargin is False
    assert lay.yaxis.title.text == "y" and lay.yaxis.title.standoff == 15
    merged = dark_layout({"yaxis3": {"title": {"text": "b"}}, "font": {"size": 9}})
    assert merged["yaxis3"]["linecolor"] == "#506784" and merged["yaxis3"]["title"]["text"] == "b"
    assert merged["font"] == {"color": "#f2f5fa", "size": 9} and "xaxis" in merged


def test_untemplated_keeps_the_style_and_drops_the_template():
    from recon_core.figures import untemplated

    fig = images_row({"a": np.zeros((4, 4)), "b": np.ones((4, 4))}, zmin=0.0)  # subplots
    assert fig.layout.template.layout.paper_bgcolor == "rgb(17,17,17)"
    untemplated(fig)
    lay = fig.to_dict()["layout"]
    assert "template" not in lay and lay["paper_bgcolor"] == "rgb(17,17,17)"
    assert lay["xaxis2"]["gridcolor"] == "#283442" and lay["yaxis2"]["autorange"] == "reversed"
    assert lay["yaxis"]["showticklabels"] is False  # the figure's own settings win
    # a line colour in the layout makes plotly.js draw the axis line, one in a template not
    assert lay["xaxis"]["showline"] is False and lay["yaxis2"]["showline"] is False
    curves = untemplated(curves_figure({"a": [1.0, 2.0]}, title="t", ylabel="loss"))
    assert curves.layout.yaxis.title.text == "loss" and curves.layout.yaxis.title.standoff == 15
    menus = _styled_menus()
    assert menus["updatemenus"][0]["bgcolor"] == "#506784" and menus["updatemenus"][0]["type"] == "buttons"
    assert untemplated(image_figure(np.eye(3))).to_dict()["layout"] == image_figure(np.eye(3)).to_dict()["layout"]


def _styled_menus() -> dict:
    import plotly.graph_objects as go

    from recon_core.figures import DARK_TEMPLATE, untemplated

    fig = go.Figure(layout=dict(template=DARK_TEMPLATE, updatemenus=[dict(type="buttons")]))
    return untemplated(fig).to_dict()["layout"]


def test_data_revision_follows_the_data():
    a = np.linspace(0, 1, 16).reshape(4, 4)
    one, same = image_figure(a, "t"), image_figure(a.copy(), "another title")
    assert data_revision(one) == data_revision(same)
    b = a.copy()
    b[0, 0] = 0.5
    assert data_revision(image_figure(b, "t")) != data_revision(one)
    assert data_revision(image_figure(a, "t", colorscale="viridis")) != data_revision(one)


def test_psf_figure_draws_a_line_masks_psf_as_its_line():
    from recon_core.figures import psf_figure
    from recon_core.masks import line_axis, make_mask, point_spread_function

    m = make_mask((32, 40), 4, kind="random", seed=0)
    psf = point_spread_function(m)
    fig = psf_figure(psf, line_axis(m), "A: PSF")
    tr = fig.data[0]
    assert tr.type == "scatter" and len(tr.x) == 40 and tr.x[0] == -20 and "along x" in fig.layout.title.text
    np.testing.assert_allclose(tr.y, np.maximum(20 * np.log10(np.maximum(psf[16], 1e-30)), -80), atol=1e-4)
    rows = psf_figure(point_spread_function(m.T), line_axis(m.T))
    assert len(rows.data[0].x) == 40 and "along y" in rows.layout.title.text
    assert psf_figure(point_spread_function(make_mask((32, 40), 4, kind="poisson", seed=0))).data[0].type == "heatmap"
    with pytest.raises(ValueError, match="axis"):
        psf_figure(psf, 0)
    with pytest.raises(ValueError, match="psf must"):
        psf_figure(psf[0], -1)
