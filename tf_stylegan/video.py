"""Writing frame sequences: MP4 through imageio's ffmpeg (imageio-ffmpeg carries the binary), GIF otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from tf_stylegan.files import atomic_path


def write_video(frames: Iterable[np.ndarray], path: str, fps: float = 30.0, total: int | None = None,
                progress: bool = True) -> str:
    """Writes uint8 [H, W, 3] frames to `path` (.mp4 or .gif), atomically, with a progress bar."""
    import imageio.v2 as imageio
    from tqdm import tqdm

    ext = os.path.splitext(path)[1].lower()
    if ext not in (".mp4", ".gif"):
        raise ValueError(f"{path}: write .mp4 (ffmpeg) or .gif.")
    with atomic_path(path) as tmp:
        if ext == ".mp4":
            writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
                                        macro_block_size=1, ffmpeg_log_level="error")
        else:
            writer = imageio.get_writer(tmp, format="GIF", mode="I", duration=1000.0 / fps, loop=0)
        with writer, tqdm(total=total, desc=os.path.basename(path), unit="frame", disable=not progress) as bar:
            for frame in frames:
                frame = np.asarray(frame)
                if frame.dtype != np.uint8 or frame.ndim != 3:
                    raise ValueError(f"{path}: frames must be uint8 [H, W, C], got {frame.dtype} {frame.shape}.")
                writer.append_data(frame if frame.shape[-1] == 3 else np.repeat(frame[..., :1], 3, -1))
                bar.update(1)
    return path


def read_video(path: str) -> np.ndarray:
    """All frames of a video [T, H, W, 3] (for tests and checks)."""
    import imageio.v2 as imageio

    return np.stack(list(imageio.mimread(path, memtest=False)))[..., :3]
