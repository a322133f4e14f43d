"""An uploaded HDF5 file may not make the server read other files (links, external storage)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from recon_core.io import DataLoadError, load_file


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.raw"
    path.write_bytes(np.arange(2 * 16 * 16, dtype=np.complex64).tobytes())
    return path


def test_external_storage_is_refused(tmp_path, secret):
    path = tmp_path / "evil.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", shape=(2, 16, 16), dtype=np.complex64,
                         external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
    with pytest.raises(DataLoadError, match="outside the file") as info:
        load_file(path)
    assert info.value.reason == "unsupported"


def test_external_and_soft_links_are_refused(tmp_path, secret):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["kspace"] = np.ones((2, 16, 16), np.complex64)
    for name, make in (("ext.h5", lambda f: f.__setitem__("kspace", h5py.ExternalLink(str(other), "kspace"))),
                       ("soft.h5", lambda f: (f.__setitem__("real", np.ones((2, 16, 16), np.complex64)),
                                              f.__setitem__("kspace", h5py.SoftLink("/real"))))):
        path = tmp_path / name
        with h5py.File(path, "w") as f:
            make(f)
        with pytest.raises(DataLoadError, match="link") as info:
            load_file(path)
        assert info.value.reason == "unsupported"


def test_ismrmrd_group_behind_an_external_link_is_not_followed(tmp_path):
    from tests.io.test_ismrmrd import acquisition, make_header, write

    rng = np.random.default_rng(0)
    k = (rng.standard_normal((2, 16, 16)) + 1j).astype(np.complex64)
    server = tmp_path / "server.h5"
    write(server, make_header(16, 16, coils=2), [acquisition(k[:, :, j], step1=j) for j in range(16)])
    assert load_file(server).kspace.shape == (2, 16, 16)  # a valid ISMRMRD file on its own
    evil = tmp_path / "evil.h5"
    with h5py.File(evil, "w") as f:
        f["dataset"] = h5py.ExternalLink(str(server), "/dataset")
        f["other"] = h5py.ExternalLink(str(server), "/")
    with pytest.raises(DataLoadError) as info:
        load_file(evil)
    assert info.value.reason in ("missing", "unsupported")
