"""AppTest: the Home page renders its explanation, formula and figure without errors."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def test_home_renders():
    at = AppTest.from_file("../../streamlit_app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "MRI Recon Lab"
    assert any("F_\\Omega" in l.value for l in at.latex)
    assert any("Shepp–Logan" in m.value for m in at.markdown) or any("Shepp" in c.value for c in at.caption)


def test_home_figure_data_match_recon_core():
    """The home page's NumPy-only example (no TensorFlow) equals recon_core's FFT path."""
    import numpy as np

    import recon_core as rc
    from ui import cached

    ex = cached.home_example(64)
    x, m = rc.shepp_logan(64), rc.make_mask((64, 64), 4.0, kind="random", seed=0)
    np.testing.assert_array_equal(ex["image"], x)
    np.testing.assert_array_equal(ex["mask"], m)
    np.testing.assert_allclose(ex["kspace"], rc.fft2c(x), atol=1e-5)
    np.testing.assert_allclose(ex["zero_filled"], np.abs(rc.zero_filled(rc.fft2c(x), m)), atol=1e-5)


def test_pages_folder_holds_only_the_page_scripts():
    """Streamlit lists every .py in pages/ as a page (legacy mode): no helper may live there."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    app = ast.parse((root / "streamlit_app.py").read_text(encoding="utf-8"))
    routed = {n.args[0].value for n in ast.walk(app) if isinstance(n, ast.Call)
              and getattr(n.func, "attr", None) == "Page" and n.args}
    assert {f"pages/{p.name}" for p in (root / "pages").iterdir() if p.suffix == ".py"} == routed
