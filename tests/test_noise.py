"""The project's one SNR definition (recon_core.noise)."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core import fft2c, shepp_logan
from recon_core.noise import add_noise, check_snr_db, measured_snr_db, noise_std


@pytest.mark.parametrize("snr", [0.0, 20.0, 40.0])
def test_added_noise_has_the_requested_snr(snr):
    k = fft2c(shepp_logan(128))
    noisy = add_noise(k, snr, seed=3)
    assert measured_snr_db(k, noisy) == pytest.approx(snr, abs=0.1)
    # real and imaginary parts carry half the variance each
    d = noisy - k
    assert np.var(d.real) == pytest.approx(np.var(d.imag), rel=0.05)


def test_seeded_and_noiseless():
    k = fft2c(shepp_logan(64))
    np.testing.assert_array_equal(add_noise(k, 30, seed=1), add_noise(k, 30, seed=1))
    assert not np.array_equal(add_noise(k, 30, seed=1), add_noise(k, 30, seed=2))
    for off in (None, float("inf")):
        out = add_noise(k, off, seed=1)
        np.testing.assert_array_equal(out, k)
        assert out is not k


def test_noise_std_works_for_numbers_arrays_and_tensors():
    import tensorflow as tf

    assert noise_std(1.0, 20.0) == pytest.approx(0.1)
    np.testing.assert_allclose(noise_std(np.array([1.0, 4.0]), 20.0), [0.1, 0.2])
    assert float(noise_std(tf.constant(1.0), tf.constant(20.0))) == pytest.approx(0.1, rel=1e-6)


def test_bad_values_are_named():
    assert check_snr_db(None) is None and check_snr_db(float("inf")) is None
    assert check_snr_db(25) == 25.0
    with pytest.raises(ValueError, match="finite"):
        check_snr_db(float("nan"))
    with pytest.raises(ValueError, match="number of decibels"):
        check_snr_db("loud")
    with pytest.raises(ValueError, match="all-zero"):
        add_noise(np.zeros((4, 4)), 10)
