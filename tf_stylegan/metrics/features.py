"""Feature extraction for the metrics: real images from a dataset, fake ones from G.

Images reach the feature network as uint8, as in the official code
(generated [-1, 1] images become `floor(x * 127.5 + 128)` clipped to [0, 255]).
Real images are compared at the generator's resolution: a network trained
below its dataset's resolution is measured against the box-filtered reals it
was trained on (against the full-size ones, a perfect 32 px generator of a
64 px set would score about 55-64 instead of 0).
Dataset features are cached on disk, keyed by the dataset's content hash, the
feature network's file hash and the settings, so a training run computes
them once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.images import to_uint8
from tf_stylegan.metrics.stats import MetricError, check_features

FeatureNet = Callable[[tf.Tensor], tf.Tensor]


def file_digest(path: str, chunk: int = 1 << 22) -> str:
    """sha1 of a file's bytes."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def dataset_digest(data: str) -> str:
    """Content hash of a dataset: the bundled .npz, or dataset.json plus every shard."""
    from tf_stylegan.data.bundled import bundled_path
    from tf_stylegan.data.pipeline import BUNDLED_PREFIX, read_info

    if data.startswith(BUNDLED_PREFIX):
        return file_digest(bundled_path(data[len(BUNDLED_PREFIX):]))
    info = read_info(data)
    digest = hashlib.sha1(json.dumps(info, sort_keys=True).encode())
    for shard in info["shards"]:
        digest.update(file_digest(os.path.join(data, shard["file"])).encode())
    return digest.hexdigest()


class FeatureExtractor:
    """Runs a feature network on uint8 batches, optionally split across replicas.

    Under a `tf.distribute` strategy each replica gets a contiguous slice of
    the batch and the results are gathered back in order.
    """

    def __init__(self, network: keras.Model, strategy: tf.distribute.Strategy | None = None):
        self.network = network
        self.strategy = strategy
        self._step = tf.function(lambda images: self.network(images, training=False), reduce_retracing=True)

    def __call__(self, images_uint8) -> np.ndarray:
        images = tf.convert_to_tensor(images_uint8)
        if images.dtype != tf.uint8:
            raise MetricError(f"the feature network takes uint8 images, got {images.dtype.name}.")
        if images.shape[-1] == 1:
            images = tf.repeat(images, 3, axis=-1)  # grayscale: the official code repeats the channel
        if images.shape[-1] != 3:
            raise MetricError(f"the feature network takes 1 or 3 channels, got {images.shape[-1]}.")
        strategy = self.strategy
        if strategy is None or strategy.num_replicas_in_sync == 1 or images.shape[0] < strategy.num_replicas_in_sync:
            return self._step(images).numpy()
        chunks = tf.split(images, _chunk_sizes(int(images.shape[0]), strategy.num_replicas_in_sync))
        per_replica = strategy.experimental_distribute_values_from_function(
            lambda ctx: chunks[ctx.replica_id_in_sync_group])
        out = strategy.run(self._step, args=(per_replica,))
        return np.concatenate([t.numpy() for t in strategy.experimental_local_results(out)], axis=0)


def _chunk_sizes(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not enabled, leave=False)


def box_factor(data: str, data_resolution: int, resolution: int | None) -> int:
    """How much the dataset's images shrink to `resolution` (None: not at all); a resolution that is not
    the data's divided by a power of two is an error naming the dataset."""
    if resolution is None or resolution == data_resolution:
        return 1
    factor = data_resolution // max(int(resolution), 1)
    if resolution > data_resolution or factor * resolution != data_resolution or factor & (factor - 1):
        raise MetricError(f"{data}: its images are {data_resolution} px and the generator's {resolution} px; "
                          "they are compared at the generator's resolution, which must be the data's divided by "
                          "a power of two. Evaluate on the dataset the network was trained on.")
    return factor


def real_features(data: str, extractor: FeatureExtractor, max_items: int | None = None, batch_size: int = 64,
                  labels: str = "tags", progress: bool = True,
                  resolution: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, D], labels [N, c_dim]) of the dataset's images, unflipped, in file order; box-filtered
    down to `resolution` (as a run at that resolution trains on them) when it is below the data's."""
    from tf_stylegan.data.pipeline import load, read_info
    from tf_stylegan.ops.box import downsample_box

    info = read_info(data)
    factor = box_factor(data, info["resolution"], resolution)
    count = info["num_images"] if max_items is None else min(info["num_images"], max_items)
    ds = load(data, batch_size, mirror=False, shuffle=False, repeat=False, labels=labels, drop_remainder=False)
    feats, labs = [], []
    with _progress(count, "real features", progress) as bar:
        done = 0
        for images, lab in ds:
            take = min(count - done, int(images.shape[0]))
            feats.append(extractor(to_uint8(downsample_box(images[:take], factor))))
            labs.append(lab[:take].numpy())
            done += take
            bar.update(take)
            if done >= count:
                break
    return check_features(np.concatenate(feats), f"{data}: real features"), np.concatenate(labs)


def dataset_labels(data: str, labels: str = "tags") -> np.ndarray:
    """All labels of a dataset [N, c_dim] (for sampling c the way the data has it)."""
    from tf_stylegan.data.pipeline import load

    ds = load(data, 4096, mirror=False, shuffle=False, repeat=False, labels=labels, drop_remainder=False)
    return np.concatenate([lab.numpy() for _, lab in ds])


def cached_real_features(data: str, extractor: FeatureExtractor, network_id: str, cache_dir: str | None,
                         max_items: int | None = None, batch_size: int = 64, labels: str = "tags",
                         progress: bool = True, resolution: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`real_features`, stored under cache_dir/stats/ keyed by data, network and settings."""
    if cache_dir is None:
        return real_features(data, extractor, max_items, batch_size, labels, progress, resolution)
    from tf_stylegan.files import atomic_path

    key = hashlib.sha1(json.dumps(
        dict(data=dataset_digest(data), network=network_id, max_items=max_items, labels=labels,
             dtype=extractor.network.dtype_policy.name, resolution=resolution), sort_keys=True).encode()).hexdigest()
    path = os.path.join(cache_dir, "stats", f"{key}.npz")
    if os.path.isfile(path):
        with np.load(path) as f:
            return f["features"].astype(np.float64), f["labels"]
    feats, labs = real_features(data, extractor, max_items, batch_size, labels, progress, resolution)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, features=feats.astype(np.float32), labels=labs)
    return feats.astype(np.float32).astype(np.float64), labs


def generated_images(G, num: int, batch_size: int = 32, truncation_psi: float = 1.0,
                     label_pool: np.ndarray | None = None, seed: int = 0,
                     noise_mode: str = "random") -> Iterable[tf.Tensor]:
    """Yields uint8 batches of G's images for seeded z (and c drawn from `label_pool`)."""
    if G.c_dim and (label_pool is None or len(label_pool) == 0):
        raise MetricError(f"the generator is conditional (c_dim={G.c_dim}) but the dataset has no labels.")
    if G.c_dim and label_pool.shape[1] != G.c_dim:
        raise MetricError(f"the dataset's labels have {label_pool.shape[1]} dims; the generator's c_dim is "
                          f"{G.c_dim}. Use the dataset the network was trained on (or --labels to match).")
    rng = np.random.RandomState(seed)

    @tf.function
    def run(z, c):
        return to_uint8(G(z, c if G.c_dim else None, truncation_psi=truncation_psi, noise_mode=noise_mode,
                          training=False))

    for start in range(0, num, batch_size):
        n = min(batch_size, num - start)
        z = rng.standard_normal([n, G.z_dim]).astype(np.float32)
        c = (label_pool[rng.randint(len(label_pool), size=n)] if G.c_dim else np.zeros([n, 0])).astype(np.float32)
        yield run(tf.constant(z), tf.constant(c))


def generator_features(G, extractor: FeatureExtractor, num: int, batch_size: int = 32,
                       truncation_psi: float = 1.0, label_pool: np.ndarray | None = None, seed: int = 0,
                       noise_mode: str = "random", progress: bool = True) -> np.ndarray:
    """Features of `num` generated images."""
    feats = []
    with _progress(num, "generated features", progress) as bar:
        for images in generated_images(G, num, batch_size, truncation_psi, label_pool, seed, noise_mode):
            feats.append(extractor(images))
            bar.update(int(images.shape[0]))
    return check_features(np.concatenate(feats), "generated features")
