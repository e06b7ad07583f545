"""Conditional accuracy: do generated images carry the labels (classes or tags) they were asked for?

A small CNN is trained on the real labelled images (multi-label, sigmoid per
label; 15% held out to report its own accuracy). Generated images get labels
drawn from the dataset, and the score is how often the classifier finds each
requested label present (probability > 0.5). For comparison the same is
measured with the labels shuffled across the generated images: the rate a
generator that ignored its labels would get ("chance").
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tf_stylegan.metrics.stats import MetricError


def build_classifier(resolution: int, channels: int, label_dim: int, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    x = inputs = keras.Input([resolution, resolution, channels])
    width = 32
    while x.shape[1] > 4:
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(x)
        width = min(width * 2, 128)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(label_dim, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="label_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, resolution: int, epochs: int = 30, seed: int = 0,
                     holdout: float = 0.15, verbose: int = 0) -> tuple[keras.Model, float]:
    """(classifier on [-1, 1] images at `resolution`, its per-label accuracy on held-out real images)."""
    if labels.ndim != 2 or labels.shape[1] == 0 or len(images) < 20:
        raise MetricError("conditional accuracy needs a labelled dataset with at least 20 images.")
    x = tf.image.resize(tf.cast(images, tf.float32) / 127.5 - 1.0, [resolution, resolution], "area").numpy()
    order = np.random.RandomState(seed).permutation(len(x))
    cut = int(len(x) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    model = build_classifier(resolution, x.shape[-1], labels.shape[1], seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    flips = np.concatenate([x[train], x[train][:, :, ::-1]])  # mirrored copies: labels are mirror-invariant
    model.fit(flips, np.concatenate([labels[train], labels[train]]), batch_size=64, epochs=epochs, verbose=verbose,
              shuffle=True)
    accuracy = label_recall(model.predict(x[test], verbose=0), labels[test])
    return model, accuracy


def label_recall(probabilities: np.ndarray, requested: np.ndarray) -> float:
    """Fraction of requested labels (entries > 0.5) that the classifier finds present."""
    mask = requested > 0.5
    if not mask.any():
        raise MetricError("no labels were requested.")
    return float(np.mean(probabilities[mask] > 0.5))


def conditional_accuracy(G, classifier: keras.Model, label_pool: np.ndarray, num: int = 1000, batch_size: int = 64,
                         truncation_psi: float = 1.0, seed: int = 0) -> dict[str, float]:
    """{"accuracy": requested labels found, "chance": the same with the labels shuffled}."""
    if G.c_dim == 0:
        raise MetricError("conditional accuracy needs a conditional generator (c_dim > 0).")
    if label_pool.shape[1] != G.c_dim:
        raise MetricError(f"the dataset's labels have {label_pool.shape[1]} dims; the generator's c_dim is {G.c_dim}.")
    rng = np.random.RandomState(seed)
    requested = label_pool[rng.randint(len(label_pool), size=num)].astype(np.float32)
    probs = []
    for i in range(0, num, batch_size):
        z = rng.standard_normal([min(batch_size, num - i), G.z_dim]).astype(np.float32)
        images = G(z, requested[i:i + len(z)], truncation_psi=truncation_psi, noise_mode="const")
        probs.append(classifier.predict(images, verbose=0))
    probs = np.concatenate(probs)
    shuffled = requested[rng.permutation(num)]
    return {"accuracy": label_recall(probs, requested), "chance": label_recall(probs, shuffled)}
