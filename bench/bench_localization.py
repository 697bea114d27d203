"""Speed of anomaly maps at 128x128: the score and the forward-only discrepancy map, then each gradient method batched (MKD.localize) against the reference's way of computing them
(one image, and one SmoothGrad noisy sample, per forward/backward pass), measured in the same run. Prints a table.
    python bench/bench_localization.py [--size 128] [--threads 2] [--n_images 8] [--n_samples 50]
The source is a seeded random VGG16 (weights do not change the speed); on a GPU, pass --device cuda.
"""
import argparse

import torch

from mkd_nb.core import MKD
from mkd_nb.localization import ATTRIBUTION_METHODS, MapSettings, attribute, to_heatmap
from mkd_nb.reproduce import best_time


def per_image(fn, n, device, repeats=3):
    "Seconds per image of fn(), which handles `n` images: the best of `repeats` timed calls after a warm-up call."
    return best_time(fn, repeats, warmup=1, device=device) / n


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n_images", type=int, default=8, help="images per batched call")
    ap.add_argument("--n_one", type=int, default=2, help="images timed one at a time (SmoothGrad: one noisy sample per pass)")
    ap.add_argument("--n_samples", type=int, default=50, help="SmoothGrad samples")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per measurement; the best is reported")
    ap.add_argument("--device", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    mkd = MKD(source="random", img_size=a.size, lam=0.5, device=a.device)
    dev = mkd.device
    x = torch.rand(a.n_images, 3, a.size, a.size, device=dev)
    print(f"localization benchmark: {a.size}x{a.size}, device {dev}, {a.threads} threads, torch {torch.__version__}, "
          f"SmoothGrad with {a.n_samples} samples, random source, compact cloner")

    def vgg_fwd_bwd():  # the floor: VGG16 forward plus the gradient with respect to the input
        xi = x.clone().requires_grad_()
        out = mkd.source(mkd.prepare(xi))["pool5"].sum()
        torch.autograd.grad(out, xi)
    print(f"{'VGG16 forward + input gradient (floor)':<40}{1000 * per_image(vgg_fwd_bwd, len(x), dev, a.repeats):>10.1f} ms/image")
    score = per_image(lambda: mkd.score(x, batch_size=a.n_images), len(x), dev, a.repeats)
    disc = per_image(lambda: mkd.localize(x, "discrepancy", batch_size=a.n_images), len(x), dev, a.repeats)
    print(f"{'score (one forward pass)':<40}{1000 * score:>10.1f} ms/image")
    print(f"{'discrepancy map (forward only)':<40}{1000 * disc:>10.1f} ms/image ({disc / score:.2f}x the score)")
    print(f"{'method':<14}{'batched ms/img':>16}{'one at a time ms/img':>24}{'speed-up':>10}")
    for method in ATTRIBUTION_METHODS:
        kw = dict(n_samples=a.n_samples) if method == "smoothgrad" else {}
        batched = per_image(lambda: mkd.localize(x, method, batch_size=a.n_images, **kw), len(x), dev, a.repeats)
        def one_at_a_time():
            for xi in x[:a.n_one].split(1):
                to_heatmap(attribute(mkd, xi, MapSettings(method, samples_per_pass=1, **kw), guided=mkd.cloner).detach())
        single = per_image(one_at_a_time, a.n_one, dev, a.repeats)
        print(f"{method:<14}{1000 * batched:>16.1f}{1000 * single:>24.1f}{single / batched:>9.1f}x")
