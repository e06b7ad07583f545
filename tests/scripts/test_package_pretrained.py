"""scripts/package_pretrained.py: the record of a run that continued a bundled network counts both
runs (kimg, hours, the curve's kimg) and keeps the earlier record; a run that did not start from a
network is refused as a continuation."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from package_pretrained import continued, read_earlier  # noqa: E402

EARLIER = {"kimg": 469.0, "hours": 2.9, "fid_curve": [{"kimg": 469.0, "fid2k_full": 100.16}]}


def test_a_continued_record_counts_both_runs():
    record = {"kimg": 300.0, "hours": 1.69, "fid_curve": [{"kimg": 50.0, "fid2k_full": 69.22, "real_resolution": 32},
                                                         {"kimg": 300.0, "fid2k_full": 62.3, "real_resolution": 32}]}
    out = continued(record, EARLIER)
    assert out["kimg"] == 769.0 and out["hours"] == pytest.approx(4.59)
    assert [row["kimg"] for row in out["fid_curve"]] == [519.0, 769.0]
    assert out["fid_curve"][1] == {"kimg": 769.0, "fid2k_full": 62.3, "real_resolution": 32}
    assert out["earlier"] is EARLIER and record["kimg"] == 300.0  # the run's own record is not changed


def write_run(tmp_path, options: dict, name: str = "run"):
    run = tmp_path / name
    run.mkdir()
    (run / "options.json").write_text(json.dumps({"options": options}))
    earlier = tmp_path / "record.json"
    earlier.write_text(json.dumps(EARLIER))
    return str(run), str(earlier)


def test_only_a_run_that_started_from_a_network_continues_one(tmp_path):
    run, earlier = write_run(tmp_path, {"init_from": "bundled:emoji32"})
    assert read_earlier(earlier, run) == EARLIER
    run2, _ = write_run(tmp_path, {"config": "cpu32"}, name="scratch")
    with pytest.raises(SystemExit, match="did not start from a network"):
        read_earlier(earlier, run2)


def test_an_earlier_file_that_is_not_a_record_is_refused(tmp_path):
    run, earlier = write_run(tmp_path, {"init_from": "bundled:emoji32"})
    with open(earlier, "w") as f:
        json.dump({"kimg": 1}, f)
    with pytest.raises(SystemExit, match="has no 'hours'"):
        read_earlier(earlier, run)

