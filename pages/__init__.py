"""Streamlit pages of MRI Recon Lab: thin UI over recon_core."""
