"""AppTest helpers: open the real entry point and switch to a page like the sidebar does."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str, query: dict[str, str] | None = None, timeout: float = 120) -> AppTest:
    """Run streamlit_app.py on ``pages/<page>.py`` (optionally with URL query parameters)."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page != "home":
        at.switch_page(f"pages/{page}.py")
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]

