"""Built-in data: phantom normalisation and the seeded ellipses dataset."""

from __future__ import annotations

import numpy as np
import pytest

from recon_core import ellipses_dataset, random_ellipses, shepp_logan


@pytest.mark.parametrize("size", [64, 255, (96, 128)])
def test_shepp_logan_range_and_shape(size):
    x = shepp_logan(size)
    expected = (size, size) if isinstance(size, int) else size
    assert x.shape == expected and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() == 1.0
    assert 0.05 < x.mean() < 0.5  # an ellipse on a dark background, not a blank or full image


def test_shepp_logan_returns_a_fresh_copy():
    a = shepp_logan(32)
    a[:] = 0
    assert shepp_logan(32).max() == 1.0


def test_random_ellipses_seeded_and_valid():
    a, b, c = random_ellipses(64, seed=5), random_ellipses(64, seed=5), random_ellipses(64, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
    assert a.max() > 0  # at least one ellipse
    # dark background as in MRI: the corners are mostly background
    assert np.median(a[[0, 0, -1, -1], [0, -1, 0, -1]]) <= 0.5


def test_global_random_state_untouched():
    state = np.random.get_state()[1].copy()
    random_ellipses(32, seed=1)
    assert np.array_equal(state, np.random.get_state()[1])


def test_dataset_is_deterministic_and_matches_generator():
    ds = ellipses_dataset(3, size=32, seed=10)
    imgs = [x.numpy() for x in ds]
    assert [i.shape for i in imgs] == [(32, 32)] * 3
    for i, img in enumerate(imgs):
        np.testing.assert_array_equal(img, random_ellipses(32, seed=10 + i))
    again = [x.numpy() for x in ellipses_dataset(3, size=32, seed=10)]
    np.testing.assert_array_equal(np.stack(imgs), np.stack(again))


@pytest.mark.parametrize("kwargs, match", [({"size": 4}, "size"), ({"seed": -1}, "seed"),
                                           ({"max_shapes": 0}, "max_shapes")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_ellipses(**kwargs)
