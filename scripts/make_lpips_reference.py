"""Dev-only: reference LPIPS distances for tests/metrics/test_lpips.py, computed by the lpips package.

Needs torch and lpips==0.1.4 in a separate environment (torchvision is not
needed: its VGG16 constructor is replaced by the same layer stack). The VGG16
weights are random, drawn by `random_vgg16` with numpy so that the test can
redraw them; the linear weights are the package's real v0.1 vgg.pth.

Usage: python scripts/make_lpips_reference.py OUT.npz
(torch is imported inside the functions, so the test can import `random_vgg16`.)
"""

import sys
import types

import numpy as np

CONVS = [(0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256), (14, 256, 256),
         (17, 256, 512), (19, 512, 512), (21, 512, 512), (24, 512, 512), (26, 512, 512), (28, 512, 512)]


def random_vgg16(seed: int = 0) -> dict[str, np.ndarray]:
    """He-scaled random VGG16 conv weights in torchvision's layout (keys features.N.weight/bias)."""
    rng = np.random.RandomState(seed)
    out = {}
    for index, cin, cout in CONVS:
        out[f"features.{index}.weight"] = (rng.standard_normal([cout, cin, 3, 3]) * np.sqrt(2 / (9 * cin))).astype(
            np.float32)
        out[f"features.{index}.bias"] = (rng.standard_normal([cout]) * 0.01).astype(np.float32)
    return out


def _features(weights):
    import torch

    layers, i = [], 0
    for index, cin, cout in CONVS:
        while i < index:  # max pools sit where torchvision puts them
            layers.append(torch.nn.MaxPool2d(2, 2))
            i += 1
        conv = torch.nn.Conv2d(cin, cout, 3, padding=1)
        conv.weight.data = torch.from_numpy(weights[f"features.{index}.weight"])
        conv.bias.data = torch.from_numpy(weights[f"features.{index}.bias"])
        layers += [conv, torch.nn.ReLU(inplace=False)]
        i = index + 2
    layers.append(torch.nn.MaxPool2d(2, 2))
    return torch.nn.Sequential(*layers)


def main(out: str) -> None:
    import torch

    weights = random_vgg16(0)
    tv = types.ModuleType("torchvision")
    tv.models = types.SimpleNamespace(vgg16=lambda pretrained=False, **kw: types.SimpleNamespace(
        features=_features(weights)))
    sys.modules["torchvision"] = tv
    sys.modules["torchvision.models"] = tv.models
    import lpips

    model = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()
    rng = np.random.RandomState(1)
    x = rng.randint(0, 256, (4, 64, 64, 3)).astype(np.uint8)
    y = np.clip(x.astype(int) + rng.randint(-40, 41, x.shape), 0, 255).astype(np.uint8)
    y[2:] = np.clip(np.roll(x[2:], 5, axis=2).astype(int) // 2 + 60, 0, 255)  # far pairs too

    def to_torch(a):
        return torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1

    with torch.no_grad():
        dist = model(to_torch(x), to_torch(y)).reshape(-1).numpy()
    np.savez_compressed(out, x=x, y=y, distance=dist.astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1])
