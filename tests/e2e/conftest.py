"""Fixtures for the browser tests live in browserhelpers.py; this makes pytest load them."""

from browserhelpers import app_url, browser, page  # noqa: F401
