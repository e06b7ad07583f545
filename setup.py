"""tf_stylegan: style-based GANs (StyleGAN2, ProGAN, DCGAN) in Keras 3 / TensorFlow 2."""

import glob
import os
import subprocess
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class BuildPyWithOps(build_py):
    """Also builds the compiled custom ops (custom_ops/build.py) when a C++
    compiler and TensorFlow's headers are present; without them the package
    runs its pure-TF reference ops, so a failed build is a warning, not an error."""

    def run(self):
        super().run()
        out = os.path.join(self.build_lib, "tf_stylegan", "ops", "_tf_stylegan_ops.so")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "custom_ops", "build.py")
        try:
            import tensorflow  # noqa: F401  (headers and flags come from it)
        except ImportError:
            print("tf_stylegan: TensorFlow is not importable at build time; skipping the custom ops "
                  "(run `make ops` after installing).")
            return
        if subprocess.call([sys.executable, script, f"--out={out}"]) != 0:
            print("tf_stylegan: building the custom ops failed; the reference ops will be used.")

setup(
    name="tf_stylegan",
    version="0.1.0",
    description="StyleGAN2 in Keras 3 / TensorFlow 2, exact to the official implementation.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tf_stylegan", "tf_stylegan.*"]),
    package_data={"tf_stylegan.data": ["bundled/*.npz", "bundled/NOTICE"],
                  "tf_stylegan": ["pretrained/*/*.keras", "pretrained/*/record.json", "pretrained/*/NOTICE"]},
    data_files=[("share/tf_stylegan/configs", sorted(glob.glob("configs/*.json")))],
    install_requires=[
        "keras==3.15.1",
        "numpy>=1.26,<2.5",
        "absl-py>=2.1",
        "pillow>=10",
        "tqdm>=4.66",
        "tensorboard>=2.16",
        "imageio>=2.30",  # videos; imageio-ffmpeg carries its own ffmpeg binary
        "imageio-ffmpeg>=0.5",
    ],
    extras_require={
        # Pick one TensorFlow: the CPU wheel, or the CUDA one for GPU machines.
        "cpu": ["tensorflow-cpu==2.21.0"],
        "gpu": ["tensorflow[and-cuda]==2.21.0"],
        "tflite": ["ai-edge-litert==2.3.0"],  # the LiteRT interpreter, to run exported .tflite files
        "dev": ["pytest==9.2.0", "pytest-xdist==3.8.0", "ruff==0.17.6", "scipy==1.17.1", "ai-edge-litert==2.3.0"],
    },
    cmdclass={"build_py": BuildPyWithOps},
    entry_points={
        "console_scripts": [
            "tf-stylegan-convert=tf_stylegan.tools.convert:entry",
            "tf-stylegan-generate=tf_stylegan.tools.generate:entry",
            "tf-stylegan-dataset=tf_stylegan.tools.dataset:entry",
            "tf-stylegan-evaluate=tf_stylegan.tools.evaluate:entry",
            "tf-stylegan-fetch-weights=tf_stylegan.tools.fetch_weights:entry",
            "tf-stylegan-train=tf_stylegan.tools.train:entry",
            "tf-stylegan-export=tf_stylegan.tools.export:entry",
            "tf-stylegan-style-mixing=tf_stylegan.tools.style_mixing:entry",
            "tf-stylegan-video=tf_stylegan.tools.video:entry",
            "tf-stylegan-project=tf_stylegan.tools.project:entry",
        ]
    },
)
