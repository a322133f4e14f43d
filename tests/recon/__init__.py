"""Tests mirroring recon_core/recon/."""
