"""A graceful stop: SIGTERM or the first Ctrl-C ends a run after its current step, with a checkpoint.

Without it a scheduler's SIGTERM (Slurm, `docker stop`, `kill`) or a Ctrl-C
loses every step since the last checkpoint, up to `checkpoint_every` of them.
The request is honoured between steps, where the model is consistent; a
second Ctrl-C interrupts at once, as usual.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from tf_stylegan.run.callbacks import TrainingError

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(TrainingError):
    """The run stopped on request after writing a checkpoint; `signum` is the signal that asked."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


@contextlib.contextmanager
def stop_requests() -> Iterator[list[int]]:
    """While open, SIGTERM and SIGINT are recorded in the yielded list instead of ending the process.

    After the first request SIGINT gets its earlier handler back, so a second
    Ctrl-C interrupts at once. Signal handlers exist in the main thread only:
    elsewhere nothing is installed and the list stays empty.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    earlier = {signum: signal.getsignal(signum) for signum in SIGNALS}

    def request(signum, frame):
        received.append(signum)
        signal.signal(signal.SIGINT, _handler(earlier[signal.SIGINT]))

    for signum in SIGNALS:
        signal.signal(signum, request)
    try:
        yield received
    finally:
        for signum, handler in earlier.items():
            signal.signal(signum, _handler(handler))


def _handler(handler):
    """A handler that signal.signal accepts: one installed outside Python reads as None."""
    return signal.SIG_DFL if handler is None else handler
