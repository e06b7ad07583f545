"""The progressive schedule: stages, per-resolution batches, alpha, the real images, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from tf_stylegan.training.progressive import ProgressiveSchedule, Stage, reals_at


def test_stages_follow_the_official_order_with_exact_boundaries():
    schedule = ProgressiveSchedule(32, start_resolution=8, stable_kimg=0.1, fade_kimg=0.05, batch=8,
                                   batch_sizes={8: 32, 16: 16})
    assert schedule.stages() == [
        Stage(0, 8, False, 32, 0, 128),      # ceil(100 / 32) = 4 steps of 32
        Stage(1, 16, True, 16, 128, 192),    # ceil(50 / 16) = 4 steps of 16
        Stage(2, 16, False, 16, 192, 304),   # 7 steps
        Stage(3, 32, True, 8, 304, 360),     # 7 steps of the default batch
        Stage(4, 32, False, 8, 360, None),   # until the end of training
    ]
    assert schedule.full_resolution_img() == 360
    assert schedule.stage_at(0).index == 0 and schedule.stage_at(127).index == 0
    assert schedule.stage_at(128).index == 1 and schedule.stage_at(10**9).index == 4


def test_alpha_ramps_linearly_over_a_fade():
    stage = ProgressiveSchedule(16, 8, 1.0, 1.0, batch=10).stages()[1]
    assert stage.fading and (stage.start_img, stage.end_img) == (1000, 2000)
    for nimg, alpha in [(1000, 0.0), (1250, 0.25), (1500, 0.5), (2000, 1.0), (2500, 1.0)]:
        assert stage.alpha(nimg) == alpha
        assert float(stage.alpha(tf.constant(nimg, tf.int64))) == pytest.approx(alpha)
    assert ProgressiveSchedule(16, 8).stages()[0].alpha(5) == 1.0  # stable: always 1


def test_reals_blend_between_resolutions():
    x = tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1])
    box = np.array([[2.5, 4.5], [10.5, 12.5]])  # 2x2 block means of 0..15
    np.testing.assert_array_equal(reals_at(x, 2, 1.0, fading=False).numpy()[0, ..., 0], box)
    np.testing.assert_array_equal(reals_at(x, 4, 1.0, fading=False).numpy(), x.numpy())  # target: untouched
    coarse = np.kron(box, np.ones([2, 2]))  # alpha 0: the 2x-coarser image, upsampled
    np.testing.assert_array_equal(reals_at(x, 4, 0.0, fading=True).numpy()[0, ..., 0], coarse)
    half = reals_at(x, 4, 0.5, fading=True).numpy()[0, ..., 0]
    np.testing.assert_allclose(half, (coarse + x.numpy()[0, ..., 0]) / 2)


def test_bad_schedules_fail_clearly():
    with pytest.raises(ValueError, match="power of two"):
        ProgressiveSchedule(48)
    with pytest.raises(ValueError, match="above the target"):
        ProgressiveSchedule(16, start_resolution=32)
    with pytest.raises(ValueError, match="must be > 0"):
        ProgressiveSchedule(16, fade_kimg=0)
    with pytest.raises(ValueError, match="batch size 0"):
        ProgressiveSchedule(16, batch_sizes={8: 0})
    schedule = ProgressiveSchedule(64, 8, stable_kimg=10, fade_kimg=10)
    with pytest.raises(ValueError, match="does not reach 64px within kimg=50: .* takes 60 kimg"):
        schedule.check_reaches_target(50)
    schedule.check_reaches_target(61)
    with pytest.raises(ValueError, match="cannot be reduced"):
        reals_at(tf.zeros([1, 12, 12, 3]), 8, 1.0, False)


def test_round_trips_through_a_dict():
    schedule = ProgressiveSchedule(32, 4, 2.0, 3.0, 16, {8: 64})
    assert ProgressiveSchedule.from_dict(schedule.to_dict()) == schedule
