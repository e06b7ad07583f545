"""Progressive growing (ProGAN, Karras et al. 2018): the schedule and the real images.

Training starts at a low resolution; each higher one is first faded in (alpha
ramps linearly from 0 to 1 over `fade_kimg`) and then trained at full weight
(`stable_kimg`), the order of the official TrainingSchedule:

    stable 8 | fade 16 | stable 16 | fade 32 | ... | stable R (until the end)

A stage's length is a whole number of its own batches, so stage boundaries
are exact image counts, and the stage and alpha are functions of the number
of images shown: a run resumed from a checkpoint mid-fade carries on with the
same alpha. Real images are box-filtered down to the stage resolution and,
while fading, blended with their own 2x-coarser version in the same way as
the generator's output, so that D never sees the two disagree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import tensorflow as tf

from tf_stylegan.ops.box import downsample_box, fade, upsample_nearest


def _log2(value: int, what: str) -> int:
    log2 = int(round(math.log2(value))) if value > 0 else -1
    if value < 4 or 2**log2 != value:
        raise ValueError(f"{what} must be a power of two >= 4, got {value}.")
    return log2


@dataclasses.dataclass(frozen=True)
class Stage:
    """One phase of the schedule: train (or fade in) `resolution` with `batch`."""

    index: int
    resolution: int
    fading: bool
    batch: int
    start_img: int
    end_img: int | None  # None: the last stage, which runs until training ends

    @property
    def key(self) -> tuple[int, bool]:
        """What a compiled step depends on (alpha itself is a run-time value)."""
        return self.resolution, self.fading

    def alpha(self, nimg):
        """The fade-in weight of the new resolution after `nimg` images (a tensor or int)."""
        if not self.fading:
            return tf.constant(1.0) if tf.is_tensor(nimg) else 1.0
        length = float(self.end_img - self.start_img)
        if tf.is_tensor(nimg):
            return tf.clip_by_value(tf.cast(nimg - self.start_img, tf.float32) / length, 0.0, 1.0)
        return min(max((nimg - self.start_img) / length, 0.0), 1.0)


@dataclasses.dataclass
class ProgressiveSchedule:
    """Which resolution trains when, with what batch size.

    Args:
      target_resolution: the final resolution (the networks' img_resolution).
      start_resolution: the first one (4 or 8 in the papers).
      stable_kimg: thousands of images at each resolution after its fade-in
        (and at the start resolution).
      fade_kimg: thousands of images over which each new resolution fades in.
      batch: the default batch size.
      batch_sizes: per-resolution batch sizes, e.g. {8: 64, 16: 32}; others use `batch`.
    """

    target_resolution: int
    start_resolution: int = 8
    stable_kimg: float = 600.0
    fade_kimg: float = 600.0
    batch: int = 16
    batch_sizes: Mapping[int, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        top = _log2(self.target_resolution, "target_resolution")
        bottom = _log2(self.start_resolution, "start_resolution")
        if bottom > top:
            raise ValueError(f"start_resolution {self.start_resolution} is above the target "
                             f"{self.target_resolution}.")
        if self.stable_kimg <= 0 or self.fade_kimg <= 0:
            raise ValueError(f"stable_kimg and fade_kimg must be > 0, got {self.stable_kimg} and {self.fade_kimg}.")
        self.batch_sizes = {int(k): int(v) for k, v in dict(self.batch_sizes).items()}
        for res, size in [(None, self.batch), *self.batch_sizes.items()]:
            if size < 1:
                raise ValueError(f"batch size {size} (resolution {res or 'default'}) must be >= 1.")

    def batch_at(self, resolution: int) -> int:
        return self.batch_sizes.get(resolution, self.batch)

    def stages(self) -> list[Stage]:
        """Every stage in order; the last (stable at the target) has no end."""
        res = self.start_resolution
        plan = [(res, False)]
        while res < self.target_resolution:
            res *= 2
            plan += [(res, True), (res, False)]
        out, start = [], 0
        for i, (res, fading) in enumerate(plan):
            batch = self.batch_at(res)
            if i == len(plan) - 1:
                out.append(Stage(i, res, fading, batch, start, None))
                break
            steps = max(1, math.ceil((self.fade_kimg if fading else self.stable_kimg) * 1000 / batch))
            out.append(Stage(i, res, fading, batch, start, start + steps * batch))
            start += steps * batch
        return out

    def full_resolution_img(self) -> int:
        """Images shown before the target resolution is fully faded in."""
        return self.stages()[-1].start_img

    def check_reaches_target(self, total_kimg: float) -> None:
        """Raises when training would end before the target resolution is faded in."""
        needed = self.full_resolution_img()
        if total_kimg * 1000 <= needed:
            raise ValueError(
                f"the progressive schedule does not reach {self.target_resolution}px within kimg={total_kimg:g}: "
                f"fading in every resolution from {self.start_resolution}px takes {needed / 1000:g} kimg "
                f"(stable {self.stable_kimg:g} + fade {self.fade_kimg:g} kimg per resolution). Raise kimg, "
                "or lower stable_kimg / fade_kimg."
            )

    def stage_at(self, nimg: int) -> Stage:
        """The stage training is in after `nimg` images."""
        for stage in self.stages():
            if stage.end_img is None or nimg < stage.end_img:
                return stage
        raise AssertionError("unreachable: the last stage has no end")

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "batch_sizes": {str(k): v for k, v in self.batch_sizes.items()}}

    @classmethod
    def from_dict(cls, config: Mapping) -> ProgressiveSchedule:
        config = dict(config)
        config["batch_sizes"] = {int(k): int(v) for k, v in config.get("batch_sizes", {}).items()}
        return cls(**config)


def reals_at(images: tf.Tensor, resolution: int, alpha, fading: bool) -> tf.Tensor:
    """Real images as D sees them in a stage: box-downsampled to `resolution` and,
    while fading in, blended with their 2x-coarser version (alpha 0: all coarse)."""
    size = images.shape[1]
    if size is None or size % resolution:
        raise ValueError(f"real images of size {size} cannot be reduced to the stage resolution {resolution}.")
    x = downsample_box(images, size // resolution)
    if fading:
        x = fade(upsample_nearest(downsample_box(x)), x, alpha)
    return x
