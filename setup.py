"""tf_stylegan: style-based GANs (StyleGAN2, ProGAN, DCGAN) in Keras 3 / TensorFlow 2."""

import glob

from setuptools import find_packages, setup

setup(
    name="tf_stylegan",
    version="0.1.0",
    description="StyleGAN2 in Keras 3 / TensorFlow 2, exact to the official implementation.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tf_stylegan", "tf_stylegan.*"]),
    package_data={"tf_stylegan.data": ["bundled/*.npz", "bundled/NOTICE"]},
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
        "dev": ["pytest==9.2.0", "ruff==0.17.6", "scipy==1.17.1", "ai-edge-litert==2.3.0"],
    },
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
