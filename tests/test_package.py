"""`import tf_stylegan` is enough and cheap: subpackages load on first use, in a fresh process."""

import subprocess
import sys


def _fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_plain_import_loads_no_tensorflow():
    assert _fresh("import sys, tf_stylegan; print('tensorflow' in sys.modules, tf_stylegan.__version__)") \
        == "False 0.1.0"


def test_subpackages_load_on_first_use():
    from conftest import data_path

    code = (f"import tf_stylegan; nets = tf_stylegan.convert.load({data_path('tf1_small.pkl')!r}); "
            "print(sorted(nets)); print(tf_stylegan.run.SCHEMA['batch'].name, "
            "callable(tf_stylegan.export.export_saved_model), tf_stylegan.metrics.__name__, "
            "tf_stylegan.data.load.__name__, tf_stylegan.training.StyleGAN2.__name__)")
    assert _fresh(code).splitlines() == ["['D', 'G', 'G_ema']", "batch True tf_stylegan.metrics load StyleGAN2"]
    assert "no attribute 'nothing'" in subprocess.run(
        [sys.executable, "-c", "import tf_stylegan; tf_stylegan.nothing"], capture_output=True, text=True).stderr
