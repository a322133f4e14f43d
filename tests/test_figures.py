"""Plotly figure builders: data placed where the pages expect it, errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core.figures import curves_figure, image_figure, images_row, kspace_axes


def test_kspace_axes_put_dc_at_zero():
    ky, kx = kspace_axes((5, 8))
    assert list(ky) == [-2, -1, 0, 1, 2]
    assert kx[8 // 2] == 0 and kx[0] == -4


def test_image_figure_holds_the_data_and_window():
    a = np.arange(12, dtype=float).reshape(3, 4)
    fig = image_figure(a, "t", zmin=1, zmax=5, kspace=True)
    hm = fig.data[0]
    np.testing.assert_array_equal(np.asarray(hm.z), a)
    assert (hm.zmin, hm.zmax) == (1, 5)
    assert list(hm.x) == [-2, -1, 0, 1] and list(hm.y) == [-1, 0, 1]
    assert "kx=" in hm.hovertemplate
    with pytest.raises(ValueError, match="2-D"):
        image_figure(np.ones((2, 3, 4)))


def test_images_row_shares_one_colour_scale():
    fig = images_row({"a": np.zeros((4, 4)), "b": np.full((4, 4), 3.0)}, zmin=0.0)
    assert len(fig.data) == 2
    assert {d.zmax for d in fig.data} == {3.0}
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
