"""Tests mirroring recon_core/ops/."""
