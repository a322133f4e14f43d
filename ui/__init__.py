"""UI helpers shared by the page scripts in ``pages/`` (Streamlit code; no science here).

* :mod:`ui.state` — the shared settings (session state mirrored into the URL) and the current
  data; ``streamlit_app.py`` initialises them once per run, before the page;
* :mod:`ui.cached` — the only ``st.cache_data`` / ``st.cache_resource`` wrappers around
  ``recon_core`` calls;
* :mod:`ui.upload` — the upload widget;
* :mod:`ui.widgets` — small drawing helpers.

It lives beside ``pages/`` rather than in it, so that Streamlit never lists a helper as a page.
"""
