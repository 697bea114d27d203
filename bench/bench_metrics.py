"""Speed of the localization metrics on seeded random maps with blob masks (83 maps of 128x128 by default, the size of
an MVTec AD category's defective test images): pixel AUROC, AU-PRO, the paper's protocol (`paper_pixel_auroc`, one grey
opening per map) and, as the baseline, its former per-threshold computation (1,000 binary openings), copied here.
    python bench/bench_metrics.py [--n_maps 83] [--size 128] [--threads 1] [--repeats 3] [--skip_old]
"""
import argparse

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from sklearn.metrics import auc

from mkd_nb.metrics import _maps_and_masks, aupro, paper_pixel_auroc, pixel_auroc
from mkd_nb.reproduce import best_time


def _open3x3_binary(binary):
    "The former binary opening: OpenCV's 3x3 cross, outside set when eroding and unset when dilating."
    def shifts(x, fill):
        p = F.pad(x.float(), (1, 1, 1, 1), value=fill)
        return [p[..., 1:-1, 1:-1], p[..., :-2, 1:-1], p[..., 2:, 1:-1], p[..., 1:-1, :-2], p[..., 1:-1, 2:]]
    eroded = torch.stack(shifts(binary, 1.0)).amin(0)
    return torch.stack(shifts(eroded, 0.0)).amax(0) > 0

def old_paper_pixel_auroc(maps, masks, n_thresholds=1000, chunk=50):
    "The former `paper_pixel_auroc`: threshold, open and count, `chunk` thresholds at a time (the baseline)."
    maps, masks = _maps_and_masks(maps, masks)
    defective = masks.reshape(len(masks), -1).any(1)
    m, g = torch.from_numpy(maps[defective]), torch.from_numpy(masks[defective])
    lo, hi = m.amin((1, 2), keepdim=True), m.amax((1, 2), keepdim=True)
    m = (m - lo) / (hi - lo).clamp_min(1e-12)
    tpr, fpr = [], []
    for ts in torch.arange(n_thresholds).div(n_thresholds).split(chunk):
        flagged = _open3x3_binary(m[None] >= ts[:, None, None, None])
        tpr += ((flagged & g).sum((1, 2, 3)) / g.sum()).tolist()
        fpr += ((flagged & ~g).sum((1, 2, 3)) / (~g).sum()).tolist()
    return float(auc(fpr, tpr))

def blob_data(n, size, seed=0):
    "Maps and masks (n, size, size): 1 to 3 blobs a mask; maps: 0.8 * mask + noise, scaled to [0, 1], then blurred."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    masks = np.zeros((n, size, size), np.float32)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0.1, 0.9, 2) * size
            ry, rx = rng.uniform(0.02, 0.12, 2) * size
            masks[i][((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = 1
    raw = 0.8 * masks + rng.normal(size=masks.shape).astype(np.float32)
    lo, hi = raw.min((1, 2), keepdims=True), raw.max((1, 2), keepdims=True)
    maps = ndimage.gaussian_filter((raw - lo) / (hi - lo), sigma=(0, 2, 2))
    return maps, masks

def timed(fn, repeats):
    "Value of fn() and the best of `repeats` timed calls, in seconds (each call is timed: the first warms up too)."
    values = []
    seconds = best_time(lambda: values.append(fn()), repeats, warmup=0)
    return values[-1], seconds


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n_maps", type=int, default=83)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per metric; the best is reported (the old one: 1)")
    ap.add_argument("--skip_old", action="store_true", help="do not time the former per-threshold computation")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    maps, masks = blob_data(a.n_maps, a.size)
    print(f"metrics benchmark: {a.n_maps} maps of {a.size}x{a.size}, {a.threads} thread(s), torch {torch.__version__}")
    rows = {"pixel_auroc": lambda: pixel_auroc(maps, masks), "aupro": lambda: aupro(maps, masks),
            "paper_pixel_auroc": lambda: paper_pixel_auroc(maps, masks),
            "paper_pixel_auroc (faithful)": lambda: paper_pixel_auroc(maps, masks, soft_masks=True, min_max=False)}
    results = {name: timed(fn, a.repeats) for name, fn in rows.items()}
    if not a.skip_old: results["old per-threshold paper"] = timed(lambda: old_paper_pixel_auroc(maps, masks), 1)
    for name, (value, seconds) in results.items(): print(f"{name:30}{seconds:9.3f} s   value {value:.6f}")
    paper, pixel = results["paper_pixel_auroc"], results["pixel_auroc"]
    print(f"paper / pixel time ratio: {paper[1] / pixel[1]:.2f}")
    if not a.skip_old:
        old = results["old per-threshold paper"]
        print(f"old / new paper time ratio: {old[1] / paper[1]:.0f}; |new - old| = {abs(paper[0] - old[0]):.2e}")
