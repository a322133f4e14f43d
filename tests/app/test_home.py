"""AppTest: the Home page renders its explanation, formula and figure without errors."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def test_home_renders():
    at = AppTest.from_file("../../streamlit_app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "MRI Recon Lab"
    assert any("F_\\Omega" in l.value for l in at.latex)
    assert any("Shepp–Logan" in m.value for m in at.markdown) or any("Shepp" in c.value for c in at.caption)
