"""Conditional accuracy with stand-in generators whose behaviour is known."""

import numpy as np
import pytest

from tf_stylegan.data.bundled import load_arrays
from tf_stylegan.metrics.conditional import conditional_accuracy, label_recall, train_classifier
from tf_stylegan.metrics.stats import MetricError


class LookupGenerator:
    """Returns a real image carrying exactly the requested labels (or ignores them)."""

    z_dim, c_dim = 4, 14

    def __init__(self, images, labels, obey=True):
        self.images = images.astype(np.float32) / 127.5 - 1
        self.labels, self.obey = labels, obey

    def __call__(self, z, c, **kwargs):
        rng = np.random.RandomState(int(abs(z[0, 0]) * 1e6) % 2**31)
        out = []
        for row in np.asarray(c):
            pool = np.flatnonzero(np.all(self.labels == row, axis=1)) if self.obey else np.arange(len(self.labels))
            out.append(self.images[rng.choice(pool)])
        return np.stack(out)


@pytest.fixture(scope="module")
def data():
    images, labels, _ = load_arrays("emoji64", "tags")
    small = images.reshape(-1, 16, 4, 16, 4, 3).mean(axis=(2, 4)).astype(np.uint8)  # 16 px: a quick classifier
    return small, labels


@pytest.fixture(scope="module")
def classifier(data):
    return train_classifier(*data, resolution=16, epochs=20)


def test_obeying_generator_scores_well_above_chance(data, classifier):
    model, real_accuracy = classifier
    images, labels = data
    print(f"classifier recall on held-out real images: {real_accuracy:.3f}")
    assert real_accuracy > 0.6
    good = conditional_accuracy(LookupGenerator(images, labels), model, labels, num=300)
    bad = conditional_accuracy(LookupGenerator(images, labels, obey=False), model, labels, num=300)
    print(f"obeying {good}, ignoring {bad}")
    assert good["accuracy"] > good["chance"] + 0.25
    assert abs(bad["accuracy"] - bad["chance"]) < 0.08  # ignoring the labels is chance


def test_label_recall_and_refusals(classifier, data):
    probs = np.array([[0.9, 0.2], [0.4, 0.7]])
    assert label_recall(probs, np.array([[1, 1], [0, 1]])) == pytest.approx(2 / 3)
    with pytest.raises(MetricError, match="no labels were requested"):
        label_recall(probs, np.zeros([2, 2]))

    class Unconditional:
        c_dim = 0

    with pytest.raises(MetricError, match="needs a conditional generator"):
        conditional_accuracy(Unconditional(), classifier[0], data[1])
