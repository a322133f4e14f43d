"""Tests mirroring recon_core/dl/."""
