"""The official implementation (NVlabs/stylegan2-ada-pytorch) and ours, side by side in one run on this machine.

    .venv/bin/python bench/peer.py --checkout=PATH --python=PEER_VENV/bin/python [--res 32,64] [--cycles 1]

The peer runs in its own virtualenv (torch's CPU wheel from PyPI, plus numpy,
click, requests, tqdm, psutil, scipy, pillow), from a local checkout given by
path: nothing is downloaded and none of its code is copied here. A short
driver (PEER_DRIVER below) builds its Generator and Discriminator with the
same settings as bench/train.py (channel_base 16384, channel_max 512, 8
mapping layers, batch 8, float32) and times:
  * training: the official phase schedule (Gmain and Dmain every step, Greg
    every 4 with Adam's c scaling, Dreg every 16; its StyleGAN2Loss, gradient
    nan_to_num, G_ema) over whole 16-step cycles after one warm-up cycle;
  * generation: G at batch 1 and 8 with the constant noise, fused modulation
    (its default for inference) and non-fused (its fastest mode here).
On CPU the peer uses its own reference (non-CUDA) ops, as it does by itself.

Then it runs bench/train.py and bench/generator.py for ours, in this same
process tree, and prints one JSON object with both sides and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

PEER_DRIVER = r"""
import json, sys, time
import numpy as np
import torch
sys.path.insert(0, sys.argv[1])
res_list, cycles = [int(r) for r in sys.argv[2].split(",")], int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]))
import dnnlib
from training.networks import Discriminator, Generator
from training.loss import StyleGAN2Loss
from torch_utils import misc

out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "train": {}, "generate": {}}
device = torch.device("cpu")
for res in res_list:
    torch.manual_seed(0)
    G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3,
                  mapping_kwargs=dict(num_layers=8),
                  synthesis_kwargs=dict(channel_base=16384, channel_max=512, num_fp16_res=0, conv_clamp=None))
    D = Discriminator(c_dim=0, img_resolution=res, img_channels=3, channel_base=16384, channel_max=512,
                      num_fp16_res=0, conv_clamp=None, epilogue_kwargs=dict(mbstd_group_size=4))
    G_ema = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3,
                      mapping_kwargs=dict(num_layers=8),
                      synthesis_kwargs=dict(channel_base=16384, channel_max=512, num_fp16_res=0, conv_clamp=None))
    G_ema.load_state_dict(G.state_dict())
    G.train().requires_grad_(False); D.train().requires_grad_(False); G_ema.eval().requires_grad_(False)
    loss = StyleGAN2Loss(device, G.mapping, G.synthesis, D, r1_gamma=10, pl_weight=2)
    phases = []
    for name, module, interval in (("G", G, 4), ("D", D, 16)):
        c = interval / (interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=0.002 * c, betas=(0.0, 0.99 ** c), eps=1e-8)
        phases += [dnnlib.EasyDict(name=name + "main", module=module, opt=opt, interval=1),
                   dnnlib.EasyDict(name=name + "reg", module=module, opt=opt, interval=interval)]
    batch = 8
    reals = torch.rand([batch, 3, res, res]) * 2 - 1

    def step(i):
        c = torch.zeros([batch, 0])
        for phase in phases:
            if i % phase.interval:
                continue
            phase.opt.zero_grad(set_to_none=True)
            phase.module.requires_grad_(True)
            loss.accumulate_gradients(phase=phase.name, real_img=reals, real_c=c, gen_z=torch.randn([batch, 512]),
                                      gen_c=c, sync=True, gain=phase.interval)
            phase.module.requires_grad_(False)
            for p in phase.module.parameters():
                if p.grad is not None:
                    misc.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
            phase.opt.step()
        beta = 0.5 ** (batch / 10000.0)
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p.lerp(p_ema, beta))
        for b_ema, b in zip(G_ema.buffers(), G.buffers()):
            b_ema.copy_(b)

    for i in range(16):  # warm-up cycle
        step(i)
    start = time.perf_counter()
    for i in range(16 * cycles):
        step(i)
    seconds = time.perf_counter() - start
    import resource
    out["train"][str(res)] = {"img_per_s": round(16 * cycles * batch / seconds, 3),
                              "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2)}
    for batch_g in (1, 8):
        z = torch.randn([batch_g, 512])
        row = {}
        with torch.no_grad():
            for mode, fused in (("fused", True), ("nonfused", False)):
                run = lambda: G_ema.synthesis(G_ema.mapping(z, None), noise_mode="const", fused_modconv=fused)
                run()
                n, start = 0, time.perf_counter()
                while time.perf_counter() - start < 3.0:
                    run()
                    n += 1
                row[mode] = round(n * batch_g / (time.perf_counter() - start), 2)
        out["generate"][f"{res}x{batch_g}"] = row
    print(json.dumps({"res": res, "train": out["train"][str(res)]}), file=sys.stderr, flush=True)
print(json.dumps(out))
"""


def _json_lines(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


def run_peer(python: str, checkout: str, res: str, cycles: int, threads: int) -> dict:
    proc = subprocess.run([python, "-c", PEER_DRIVER, checkout, res, str(cycles), str(threads)],
                          capture_output=True, text=True, timeout=6 * 3600)
    if proc.returncode != 0:
        raise RuntimeError(f"the peer failed:\n{proc.stderr[-3000:]}")
    return _json_lines(proc.stdout)[-1]


def run_ours(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, os.path.join(HERE, script), *args], capture_output=True, text=True,
                          timeout=6 * 3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{proc.stderr[-3000:]}")
    return _json_lines(proc.stdout)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkout", required=True, help="a local checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--python", required=True, help="the Python of a virtualenv with torch for the peer")
    parser.add_argument("--res", default="32,64")
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "docs", "bench_peer.json"))
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    peer = run_peer(args.python, args.checkout, args.res, args.cycles, threads)
    ours_train = run_ours("train.py", "--res", args.res, "--precision", "fp32,bf16", "--cycles", str(args.cycles))
    ours_gen = run_ours("generator.py", "--res", args.res)
    out = {"machine": f"{threads} threads", "peer": peer, "ours_train": ours_train, "ours_generate": ours_gen,
           "ratios": ratios(peer, ours_train, ours_gen)}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


def ratios(peer: dict, ours_train: dict, ours_gen: dict) -> dict:
    """Our img/s over the peer's: training (fp32, bf16; and the roofline bound over the peer), and
    generation (our fastest correct mode per dtype against the peer's fastest mode)."""
    out = {}
    for row in ours_train["rows"]:
        theirs = peer["train"].get(str(row["res"]))
        if theirs:
            key = f"train_res{row['res']}_{row['precision']}"
            out[key] = round(row["img_per_s"] / theirs["img_per_s"], 2)
            out[key + "_bound_vs_peer"] = round(row["conv_peak_gflops"] / (theirs["img_per_s"]
                                                                          * row["gflop_per_img"]), 2)
    best: dict[str, float] = {}
    for row in ours_gen["rows"]:
        if row["psnr_db_vs_fp32"] >= 40:
            key = f"generate_res{row['res']}_batch{row['batch']}_{row['dtype']}"
            best[key] = max(best.get(key, 0.0), row["img_per_s"])
    for key, ips in best.items():
        res, batch = key.split("_")[1][3:], key.split("_")[2][5:]
        theirs = peer["generate"].get(f"{res}x{batch}")
        if theirs:
            out[key] = round(ips / max(theirs.values()), 2)
    return out


if __name__ == "__main__":
    main()
