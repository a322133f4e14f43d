"""K-space manipulations: each does what it says on a known input."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core import fft2c, shepp_logan
from recon_core.kspace_tools import KspaceEdit, apply_window, edit_kspace, log_magnitude, radial_frequency


@pytest.fixture
def k():
    return fft2c(shepp_logan(64))


def test_radial_frequency():
    r = radial_frequency((8, 10))
    assert r[4, 5] == 0 and r[0, 5] == pytest.approx(1.0) and r[4, 0] == pytest.approx(1.0)


def test_no_edit_is_identity_and_copy(k):
    out = edit_kspace(k, KspaceEdit())
    np.testing.assert_array_equal(out, k)
    out[0, 0] = 99
    assert k[0, 0] != 99


def test_low_and_high_pass_are_complementary(k):
    lo = edit_kspace(k, KspaceEdit(lowpass=0.3))
    hi = edit_kspace(k, KspaceEdit(highpass=0.3))
    r = radial_frequency(k.shape)
    assert np.all(lo[r > 0.3] == 0) and np.all(hi[r < 0.3] == 0)
    np.testing.assert_allclose(lo + hi, k + np.where(r == 0.3, k, 0))


def test_partial_fourier_zeroes_the_right_columns(k):
    out = edit_kspace(k, KspaceEdit(partial_fourier=0.625))
    assert np.all(out[:, 40:] == 0) and np.array_equal(out[:, :40], k[:, :40])
    with pytest.raises(ValueError, match="partial_fourier must be in"):
        edit_kspace(k, KspaceEdit(partial_fourier=0.4))


def test_noise_has_the_requested_snr(k):
    out = edit_kspace(k, KspaceEdit(snr_db=10.0, seed=3))
    noise = out - k
    snr = 10 * np.log10(np.mean(np.abs(k) ** 2) / np.mean(np.abs(noise) ** 2))
    assert snr == pytest.approx(10.0, abs=0.2)
    np.testing.assert_array_equal(out, edit_kspace(k, KspaceEdit(snr_db=10.0, seed=3)))


def test_spike_and_dc(k):
    out = edit_kspace(k, KspaceEdit(spike=(5, -7, 0.5), dc_scale=2.0))
    assert out[32 + 5, 32 - 7] == pytest.approx(k[37, 25] + 0.5 * np.abs(k).max())
    assert out[32, 32] == pytest.approx(2 * k[32, 32])
    with pytest.raises(ValueError, match="outside k-space"):
        edit_kspace(k, KspaceEdit(spike=(40, 0, 1.0)))


def test_display_helpers():
    lm = log_magnitude(np.array([[1.0, 10.0], [100.0, 0.0]]))
    assert lm[0, 1] == pytest.approx(1.0, abs=1e-4) and np.isfinite(lm).all()
    with pytest.raises(ValueError, match="width must be > 0"):
        apply_window(np.ones((2, 2)), 0.5, 0.0)
