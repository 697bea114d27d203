"""Training and evaluation speed at the hardware's limit, against the authors' way, in one run. Prints a table.

    python bench/bench_training.py [--size 128] [--n_train 64] [--epochs 3] [--threads 2] [--device cpu] [--compile] [--amp]

* Training images/s of `MKD.fit` (source features and decoded inputs cached once, cloner steps only) and of the
  authors' way, timed in turns (`--rounds`), so that other work on a shared machine slows both alike: medians over
  the rounds, and the speed-up as the median of the rounds' ratios. The authors' way is implemented
  here from their description: a torchvision VGG16 left unfrozen (its parameters require gradients, so every step
  back-propagates through it) and the compact cloner, channels-first, one forward of both networks per step.
* What reading the training Dataset costs (PNG decode, resize, to tensor), paid once with the cache, at every epoch
  without it; with `--compile`, the compilation's seconds (the first epoch's excess over the others).
* `evaluate` seconds split by part: scores and maps (one pass), pixel AUROC, AU-PRO, F1-max, the paper's protocol.
* The projected time of a full reference MVTec AD category (209 training images, 601 epochs, 83 test images).
The data is a synthetic MVTec-layout category (written to a temporary folder); the source is a seeded random VGG16
(weights do not change the speed).
"""
import argparse, statistics, tempfile, time
from pathlib import Path

import torch
from torchvision.models import vgg16

from mkd_nb.core import MKD
from mkd_nb.data import MVTecAD, make_synthetic_mvtec
from mkd_nb.evaluation import scores_and_maps
from mkd_nb.localization import MapSettings
from mkd_nb.losses import mkd_loss
from mkd_nb.metrics import aupro, f1_max, paper_pixel_auroc, pixel_auroc
from mkd_nb.models import Cloner
from mkd_nb.reproduce import best_time

REFERENCE = dict(n_train=209, epochs=601, n_test=83)  # an average MVTec AD category at the reference settings


def authors_way(images, batch_size, device, lam=0.5):
    "A function timing `epochs` epochs of the reference's training step (unfrozen VGG16, compact cloner, channels-first): images/s of the fastest."
    source = vgg16().features.to(device).eval()  # requires_grad stays True, as in the reference
    taps = {9: "pool2", 16: "pool3", 23: "pool4", 30: "pool5"}  # hand-kept indices of torchvision's max-pools, as the reference does it
    cloner = Cloner("compact").to(device).train()
    opt = torch.optim.Adam(cloner.parameters(), lr=1e-3)
    def source_feats(x):
        out = {}
        for i, layer in enumerate(source):
            x = layer(x)
            if i in taps: out[taps[i]] = x
        return out
    def epoch():
        for x in images.split(batch_size):
            x = x.to(device)
            loss = mkd_loss(cloner(x), source_feats(x), lam)
            opt.zero_grad(); loss.backward(); opt.step()
    epoch()  # warm-up
    return lambda epochs: len(images) / best_time(epoch, repeat=epochs, warmup=0, device=device)  # images/s of the fastest epoch


def sync(device):
    if torch.device(device).type == "cuda": torch.cuda.synchronize()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--n_train", type=int, default=64)
    ap.add_argument("--n_test", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    ap.add_argument("--authors_epochs", type=int, default=1, help="timed epochs of the authors' way (it is slow)")
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3, help="turns of timing both ways")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true", help="fit(torch_compile=True): a torch.compile'd cloner")
    ap.add_argument("--amp", action="store_true", help="fit(amp=True): bfloat16 autocast (CUDA only)")
    ap.add_argument("--no_reuse_memory", action="store_true", help="fit(reuse_memory=False)")
    ap.add_argument("--no_fused_adam", action="store_true", help="fit(fused_adam=False)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tmp = Path(tempfile.mkdtemp())
    make_synthetic_mvtec(tmp, "bench", n_train=a.n_train, n_good=a.n_test // 3, n_defective=a.n_test // 3, size=a.size, appearance="object")
    train, test = MVTecAD(tmp, "bench", img_size=a.size), MVTecAD(tmp, "bench", "test", img_size=a.size)
    print(f"training benchmark: {a.size}x{a.size}, {a.n_train} training images, batch {a.batch_size}, device {a.device}, "
          f"{a.threads} threads, torch {torch.__version__}")

    mkd = MKD.from_preset("mvtec", source="random", img_size=a.size, device=a.device)
    options = dict(torch_compile=a.compile, amp=a.amp, reuse_memory=not a.no_reuse_memory, fused_adam=not a.no_fused_adam)
    t = time.perf_counter(); images = torch.stack([train[i][0] for i in range(len(train))]); read = time.perf_counter() - t
    theirs_epochs = authors_way(images, a.batch_size, a.device)
    ours_r, theirs_r, histories = [], [], []
    for _ in range(a.rounds):
        h = mkd.fit(train, epochs=a.epochs + 1, batch_size=a.batch_size, progress=False, **options)  # a warm-up epoch, then timed ones
        histories.append(h)
        ours_r.append(a.n_train / statistics.median(h["epoch_seconds"][1:]))
        theirs_r.append(theirs_epochs(a.authors_epochs))
    ours, theirs, h = statistics.median(ours_r), statistics.median(theirs_r), histories[0]
    ratio = statistics.median(o / t for o, t in zip(ours_r, theirs_r))
    print(f"{'training, mkd_nb (MKD.fit)':<44}{ours:>10.1f} images/s   (rounds: {', '.join(f'{v:.1f}' for v in ours_r)}; "
          f"source cache {h['cache_seconds']:.1f} s once)")
    print(f"{'training, the authors way (unfrozen VGG16)':<44}{theirs:>10.1f} images/s   (rounds: {', '.join(f'{v:.1f}' for v in theirs_r)})")
    print(f"{'speed-up (median of the rounds)':<44}{ratio:>10.1f}x   (rounds: {', '.join(f'{o / t:.1f}' for o, t in zip(ours_r, theirs_r))}; "
          f"options {', '.join(f'{k}={v}' for k, v in options.items())})")
    print(f"{'reading the training Dataset':<44}{1e3 * read / len(train):>10.1f} ms/image (once with the cache; "
          f"at every epoch without it: {100 * read / len(train) / (read / len(train) + 1 / ours):.0f}% of an epoch)")
    if a.compile:
        first = [hh["epoch_seconds"][0] - statistics.median(hh["epoch_seconds"][1:]) for hh in histories]
        print(f"{'compilation (first epoch minus the others)':<44}{first[0]:>10.1f} s the first fit, "
              f"{statistics.median(first[1:]) if len(first) > 1 else float('nan'):.1f} s the next ones (compiled code reused)")

    parts = {}
    for method in ("discrepancy", "gradients"):
        t = time.perf_counter(); r = scores_and_maps(mkd, test, MapSettings(method), batch_size=16, with_masks=True); sync(a.device)
        parts[f"scores + {method} maps (one pass)"] = time.perf_counter() - t
    for name, fn in (("pixel AUROC", pixel_auroc), ("AU-PRO@0.3", aupro), ("pixel F1-max", f1_max), ("the paper's protocol", paper_pixel_auroc)):
        t = time.perf_counter(); fn(r["maps"], r["masks"]); parts[name] = time.perf_counter() - t
    print(f"evaluate on {len(test)} test images, seconds by part:")
    for k, v in parts.items(): print(f"  {k:<42}{v:>8.2f} s")
    per_test = (parts["scores + gradients maps (one pass)"] + sum(v for k, v in parts.items() if "maps" not in k)) / len(test)
    cache_per_image = h["cache_seconds"] / a.n_train
    projected = REFERENCE["n_train"] * (cache_per_image + REFERENCE["epochs"] / ours) + REFERENCE["n_test"] * per_test
    authors = REFERENCE["n_train"] * REFERENCE["epochs"] / theirs
    print(f"projected full MVTec AD category ({REFERENCE['n_train']} images x {REFERENCE['epochs']} epochs, "
          f"{REFERENCE['n_test']} test images, gradient maps): mkd_nb {projected / 60:.1f} min; the authors' training alone {authors / 60:.1f} min")
