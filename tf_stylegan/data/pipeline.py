"""`load()`: a dataset directory (or a bundled set) -> a tf.data pipeline of batches.

Batches are (images float32 [B, R, R, C] in [-1, 1], labels float32 [B, c_dim]).
The serialized records are cached in memory after the first pass (datasets
of a few thousand images are tens of MB), parsed a whole batch at a time, and
everything random is derived from `seed`, so a seed gives the same stream.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from tf_stylegan.data.bundled import load_arrays
from tf_stylegan.data.writer import FORMAT, DatasetError

BUNDLED_PREFIX = "bundled:"


def read_info(path: str) -> dict:
    """The dataset.json of a dataset directory, checked."""
    if path.startswith(BUNDLED_PREFIX):
        images, labels, names = load_arrays(path[len(BUNDLED_PREFIX):])
        return dict(format=FORMAT, resolution=images.shape[1], channels=images.shape[3],
                    num_images=len(images), label_kind="tags", label_dim=labels.shape[1], label_names=names)
    meta = os.path.join(path, "dataset.json")
    if not os.path.isfile(meta):
        raise DatasetError(
            f"{path}: no dataset.json here; build the dataset first with "
            "`python -m tf_stylegan.tools.dataset --source=IMAGES --dest={path} --resolution=...`."
        )
    info = json.load(open(meta))
    if info.get("format") != FORMAT:
        raise DatasetError(f"{meta}: not a tf_stylegan dataset (format {info.get('format')!r}).")
    return info


def check_shards(path: str, info: dict) -> list[str]:
    """The shard files, checked against dataset.json: their count, resolution, channels and labels.

    Every record of a dataset has the same length (fixed-size pixels and
    labels), so one record and the file sizes tell whether the shards hold
    what dataset.json says, without reading them all.
    """
    try:
        res, channels, label_dim = (int(info[k]) for k in ("resolution", "channels", "label_dim"))
        shards = [(os.path.join(path, s["file"]), int(s["count"])) for s in info["shards"]]
        total = int(info["num_images"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}/dataset.json: malformed ({exc}); rebuild the dataset.") from None
    missing = [f for f, _ in shards if not os.path.isfile(f) or os.path.dirname(os.path.abspath(f)) !=
               os.path.abspath(path)]
    if missing:
        raise DatasetError(f"{path}: shard files are missing: {missing[:3]}; rebuild the dataset.")
    if sum(n for _, n in shards) != total or not shards:
        raise DatasetError(f"{path}/dataset.json: the shards' counts do not add up to num_images={total}.")
    first = next(iter(tf.data.TFRecordDataset(shards[0][0]).take(1)), None)
    if first is None:
        raise DatasetError(f"{shards[0][0]}: holds no records, but dataset.json says {shards[0][1]}.")
    example = tf.train.Example.FromString(first.numpy())
    feature = example.features.feature
    pixels = len(feature["image"].bytes_list.value[0]) if "image" in feature else -1
    if pixels != res * res * channels:
        raise DatasetError(f"{shards[0][0]}: records hold {pixels} bytes of pixels, but dataset.json says "
                           f"{res}x{res}x{channels} = {res * res * channels}; the shards belong to another "
                           "dataset. Rebuild it.")
    labels = len(feature["label"].float_list.value) if "label" in feature else 0
    if labels != label_dim:
        raise DatasetError(f"{shards[0][0]}: records hold {labels} label values, dataset.json says {label_dim}.")
    record = len(first.numpy()) + 16  # TFRecord framing: length, its CRC, the data's CRC
    for file, count in shards:
        if os.path.getsize(file) != count * record:
            raise DatasetError(f"{file}: {os.path.getsize(file)} bytes, but {count} records of this dataset "
                               f"take {count * record}; the shard is truncated or from another dataset.")
    return [f for f, _ in shards]


def _to_float(images: tf.Tensor) -> tf.Tensor:
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _split_for_replicas(ds, batch_size: int, ctx: tf.distribute.InputContext) -> tf.data.Dataset:
    """Global batches -> this pipeline's per-replica batches, interleaved by replica.

    Replica r keeps samples r, r + R, ...; a pipeline serving k local replicas
    yields their batches in turn, as the strategy hands them out round-robin.
    """
    replicas = ctx.num_replicas_in_sync
    local = replicas // ctx.num_input_pipelines
    per_replica = ctx.get_per_replica_batch_size(batch_size)
    first = ctx.input_pipeline_id * local

    def mine(x):
        x = tf.reshape(x, tf.concat([[per_replica, replicas], tf.shape(x)[1:]], axis=0))
        x = tf.experimental.numpy.swapaxes(x, 0, 1)[first : first + local]
        return tf.reshape(x, tf.concat([[local * per_replica], tf.shape(x)[2:]], axis=0))

    if ds.element_spec[1].shape[-1] == 0:
        # Zero-width labels must not go through unbatch: TF's multi-device
        # iterator crashes on them. Recreate them after the split instead.
        ds = ds.map(lambda images, labels: mine(images)).unbatch().batch(per_replica, drop_remainder=True)
        return ds.map(lambda images: (images, tf.zeros([tf.shape(images)[0], 0], tf.float32)))
    ds = ds.map(lambda images, labels: (mine(images), mine(labels)))
    return ds.unbatch().batch(per_replica, drop_remainder=True)


def load(
    path: str,
    batch_size: int,
    mirror: bool = True,
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = True,
    labels: str = "tags",
    drop_remainder: bool = True,
    input_context: tf.distribute.InputContext | None = None,
    skip_batches: int = 0,
) -> tf.data.Dataset:
    """A batched, shuffled, prefetched dataset of (images in [-1, 1], labels).

    Args:
      path: a directory written by `tools.dataset`, or "bundled:emoji64".
      batch_size: global batch size (split across replicas with `input_context`).
      mirror: random horizontal flips (x-flip augmentation), seeded.
      seed: seeds the shuffle order and the flips.
      shuffle, repeat: shuffle every epoch; repeat forever.
      labels: for bundled sets, which labels ("tags", "category", "skin_tone", "none").
      drop_remainder: keep batches full (static batch shape).
      input_context: from `strategy.distribute_datasets_from_function`. Every
        pipeline makes the same global batches; replica r of R keeps samples
        r, r + R, r + 2R, ... (the official minibatch-stddev grouping), so a
        distributed step sees exactly the samples one device would.
      skip_batches: start after this many global batches (resuming a run).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if path.startswith(BUNDLED_PREFIX):
        images, label_array, _ = load_arrays(path[len(BUNDLED_PREFIX):], labels)
        ds = tf.data.Dataset.from_tensor_slices((images, label_array))
        res, channels, label_dim = images.shape[1], images.shape[3], label_array.shape[1]
        parse = None
    else:
        info = read_info(path)
        res, channels, label_dim = info["resolution"], info["channels"], info["label_dim"]
        files = check_shards(path, info)
        ds = tf.data.TFRecordDataset(files)
        features = {"image": tf.io.FixedLenFeature([], tf.string)}
        if label_dim:
            features["label"] = tf.io.FixedLenFeature([label_dim], tf.float32)

        def parse(records):
            ex = tf.io.parse_example(records, features)
            img = tf.io.decode_raw(ex["image"], tf.uint8)
            img = tf.reshape(img, [-1, res, res, channels])
            lab = ex["label"] if label_dim else tf.zeros([tf.shape(img)[0], 0], tf.float32)
            return img, lab

    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(16384, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder or input_context is not None)
    if skip_batches:
        ds = ds.skip(skip_batches)
    if parse is not None:
        ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def finish(index, batch):
        images, lab = batch
        images = _to_float(images)
        if mirror:
            coin = tf.random.stateless_uniform([tf.shape(images)[0]], seed=tf.stack([seed, index]))
            images = tf.where((coin < 0.5)[:, None, None, None], tf.reverse(images, axis=[2]), images)
        return images, lab

    ds = ds.enumerate(start=skip_batches).map(
        lambda i, b: finish(tf.cast(i, tf.int32), b), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    if input_context is not None and input_context.num_replicas_in_sync > 1:
        ds = _split_for_replicas(ds, batch_size, input_context)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
