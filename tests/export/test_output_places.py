"""Exports never destroy what they did not write (the three ways it used to happen, and the rest)."""

import os

import pytest

from tf_stylegan.export import export_saved_model
from tf_stylegan.files import MARKER, PlaceError
from tf_stylegan.networks import Generator


@pytest.fixture(scope="module")
def G():
    return Generator(z_dim=8, w_dim=8, img_resolution=8, mapping_layers=1, channel_base=64, channel_max=8)


def test_a_folder_of_versions_is_kept_and_the_next_version_suggested(G, tmp_path):
    model = tmp_path / "faces"
    export_saved_model(G, str(model / "1"))
    export_saved_model(G, str(model / "2"))
    with pytest.raises(PlaceError, match=r"folder of model versions \(1, 2\).*faces/3"):
        export_saved_model(G, str(model), overwrite=True)  # --out=saved_models/faces (the /N forgotten)
    assert sorted(os.listdir(model)) == ["1", "2"]
    assert os.path.isfile(model / "1" / "saved_model.pb") and os.path.isfile(model / "2" / "saved_model.pb")


def test_a_folder_of_other_files_is_never_replaced(G, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    with pytest.raises(PlaceError, match="holds files this tool did not write"):
        export_saved_model(G, ".", overwrite=True)  # --out=.
    assert (work / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(tmp_path)) == ["work"]  # no partial folder left beside it


def test_an_earlier_export_needs_overwrite(G, tmp_path):
    out = tmp_path / "m" / "1"
    export_saved_model(G, str(out))
    assert os.path.isfile(out / MARKER)
    with pytest.raises(PlaceError, match="earlier saved model of this package.*--overwrite"):
        export_saved_model(G, str(out))
    export_saved_model(G, str(out), overwrite=True)
    assert os.path.isfile(out / "saved_model.pb")
    empty = tmp_path / "empty"
    empty.mkdir()
    export_saved_model(G, str(empty))  # an empty folder is fine
    assert os.path.isfile(empty / "saved_model.pb")


def test_a_killed_export_leaves_no_stale_partial_folder(G, tmp_path):
    from tf_stylegan.files import write_marker

    stale = tmp_path / ".1.partial.abc"
    stale.mkdir()
    write_marker(str(stale), "saved_model-partial", host=os.uname().nodename)
    (stale / MARKER).write_text((stale / MARKER).read_text().replace(f'"pid": {os.getpid()}', '"pid": 999999999'))
    foreign = tmp_path / ".1.partial.user"  # looks alike, but is not ours: kept
    foreign.mkdir()
    export_saved_model(G, str(tmp_path / "1"))
    assert not stale.exists() and foreign.exists()
    assert sorted(os.listdir(tmp_path)) == [".1.partial.user", "1"]
