"""scripts/pretrain_emoji32.sh, with a stand-in for the trainer: each sitting is recorded, including one
ended by a signal, and a resumed run refuses other networks."""

import os
import signal
import subprocess
import time

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "pretrain_emoji32.sh")

# Stands in for python: notes its arguments, then waits until it ends or a signal stops it (as the trainer does,
# with 128 + the signal).
TRAINER = """#!/bin/sh
echo "$@" > "{log}"
trap 'exit 143' TERM
trap 'exit 130' INT
sleep 60 &
wait
"""


def start(tmp_path, *env_pairs):
    trainer, log = tmp_path / "python", tmp_path / "args"
    trainer.write_text(TRAINER.format(log=log))
    trainer.chmod(0o755)
    env = {**os.environ, "PYTHON": str(trainer), **dict(env_pairs)}
    proc = subprocess.Popen(["sh", SCRIPT, str(tmp_path / "run"), "5"], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, log


def test_a_sitting_stopped_by_a_signal_is_recorded_with_the_trainers_status(tmp_path):
    proc, log = start(tmp_path)
    deadline = time.time() + 30
    while not log.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert "--config=cpu32 --data=bundled:emoji64" in log.read_text() and "--minutes=5" in log.read_text()
    os.killpg(proc.pid, signal.SIGTERM)  # as a terminal's Ctrl-C or a scheduler reaches the whole group
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    start_s, end_s = map(int, (tmp_path / "run.sittings").read_text().split())
    assert 0 <= end_s - start_s < 30


def test_a_resumed_run_takes_neither_config_nor_init_from(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "options.json").write_text("{}")
    proc, log = start(tmp_path, ("CONFIG", "configs/cpu64.json"))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "resuming it takes neither CONFIG nor INIT_FROM" in err
    assert not log.exists() and not (tmp_path / "run.sittings").exists()
