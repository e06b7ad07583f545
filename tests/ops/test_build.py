"""custom_ops/build.py: where it finds the CUDA toolkit for a GPU build."""

import importlib.util
import os

import pytest

_spec = importlib.util.spec_from_file_location(
    "build_ops", os.path.join(os.path.dirname(__file__), "..", "..", "custom_ops", "build.py"))
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def _toolkit(root):
    os.makedirs(root / "bin")
    os.makedirs(root / "include")
    (root / "include" / "cuda_runtime.h").write_text("")
    (root / "bin" / "nvcc").write_text("")
    return root


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setattr(build, "DEFAULT_CUDA_HOME", str(tmp_path / "absent"))


def test_a_wrapper_script_on_path_is_not_taken_for_the_toolkit(no_env, monkeypatch, tmp_path):
    # /usr/local/bin/nvcc that execs the real one: /usr/local has no CUDA headers.
    wrapper = tmp_path / "local" / "bin" / "nvcc"
    os.makedirs(wrapper.parent)
    wrapper.write_text("#!/bin/sh\nexec /opt/cuda/bin/nvcc \"$@\"\n")
    with pytest.raises(SystemExit, match="set CUDA_HOME"):
        build._cuda_home(str(wrapper))
    toolkit = _toolkit(tmp_path / "cuda-13.0")
    monkeypatch.setenv("CUDA_HOME", str(toolkit))
    assert build._cuda_home(str(wrapper)) == str(toolkit)


def test_a_link_to_nvcc_leads_to_its_toolkit(no_env, tmp_path):
    toolkit = _toolkit(tmp_path / "cuda-12.4")
    link = tmp_path / "bin" / "nvcc"
    os.makedirs(link.parent)
    os.symlink(toolkit / "bin" / "nvcc", link)
    assert build._cuda_home(str(link)) == str(toolkit)
