"""tf_stylegan.files: the folders that tools build into."""

import os
import stat

from tf_stylegan.files import partial_folder


def test_a_partial_folder_gets_the_mode_that_makedirs_would_give(tmp_path):
    """mkdtemp makes 0700; the folder is renamed into place, so others could not read a bundled network."""
    old = os.umask(0o027)
    try:
        made = tmp_path / "made"
        os.makedirs(made)
        built = partial_folder(str(tmp_path / "out"), "test")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(built).st_mode) == stat.S_IMODE(os.stat(made).st_mode) == 0o750
    assert old == os.umask(old)  # the process's umask is left as it was
