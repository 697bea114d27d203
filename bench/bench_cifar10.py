"""CIFAR-10 one-class detection as in the paper's Table 4 (compact cloner, L_total, all four layers) with a given source:
at the reference input (32 -> 256 px Lanczos, centre crop 224, ImageNet normalisation) or at a smaller, labelled size
(the same steps scaled: resize to round(S * 256 / 224), centre crop S), with a learning curve and the time of every
step, so that a reduced run says exactly what it is and the reference run can be projected from it.

    python bench/bench_cifar10.py --img-size 64 --classes 0 1 2 3 4 5 6 7 8 9 --epochs 30 --curve 5 10 20 30
    python bench/bench_cifar10.py --img-size 224 --classes 0 --epochs 8 --curve 1 2 4 8 --test-per-class 200
    python bench/bench_cifar10.py --img-size 224 --classes 0 --epochs 2 --curve 2 --test-per-class 20 --train-per-class 500  # a timing probe

The test images' source features are computed once per size and test subset and kept in --work (every class is
scored on the same images); each curve point scores the test images with the cloner of that epoch. Rows are appended to
--out/curve.csv (one per class and curve epoch) and --out/timing.csv (one per class). CIFAR-10 is read from the JPEG
tree `<root>/cifar10/{train,test}/<class>/*.jpg` (see data/README.md).
"""
import argparse, os, time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from mkd_nb.core import MKD
from mkd_nb.data import DATASET_CLASSES, get_preset, preset_transform
from mkd_nb.files import append_rows, atomic_write
from mkd_nb.metrics import image_auroc
from mkd_nb.models import resolve_source
from torch.utils.data import Subset

REFERENCE_SCORE_LAYERS = ("pool3", "pool4", "pool5")


def stacked(dataset, batch_size: int = 256) -> torch.Tensor:
    "All images of a dataset as one tensor."
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=0)
    return torch.cat([x for x, _ in loader])


@torch.inference_mode()
def activations(net, mkd: MKD, x: torch.Tensor, batch_size: int = 64, dtype=torch.float32) -> dict:
    "Activations of `net` for images `x`, on the CPU, in `dtype`."
    out = {}
    for b in x.split(batch_size):
        for k, v in net(mkd.prepare(b.to(mkd.device))).items(): out.setdefault(k, []).append(v.to(dtype).cpu())
    return {k: torch.cat(v) for k, v in out.items()}


@torch.inference_mode()
def test_scores(mkd: MKD, x: torch.Tensor, feats: dict, batch_size: int = 256) -> dict:
    "The test images' scores on all layers and on the reference's pool3-5, batch by batch (the source's features given)."
    out = {"all": [], "pool3-5": []}
    for i in range(0, len(x), batch_size):
        preds = mkd.cloner(mkd.prepare(x[i:i + batch_size].to(mkd.device)))
        f = {k: v[i:i + batch_size].float().to(mkd.device) for k, v in feats.items()}
        out["all"].append(mkd.scores_of(preds, f).cpu()); out["pool3-5"].append(mkd.scores_of(preds, f, REFERENCE_SCORE_LAYERS).cpu())
    return {k: torch.cat(v).numpy() for k, v in out.items()}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--img-size", type=int, default=224)
    ap.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=201)
    ap.add_argument("--curve", type=int, nargs="+", default=[201], help="epochs at which the test images are scored")
    ap.add_argument("--test-per-class", type=int, default=1000, help="test images of each class (1000: the whole test split)")
    ap.add_argument("--train-per-class", type=int, default=5000, help="training images of the normal class (5000: all; fewer for a timing probe)")
    ap.add_argument("--source", default="imagenet")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    ap.add_argument("--root", default="data", help="folder holding cifar10/{train,test}")
    ap.add_argument("--work", default="bench_work/cifar10", help="the test images' source features (not committed)")
    ap.add_argument("--out", default="bench/results/cifar10")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    S, out, work = a.img_size, Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True); work.mkdir(parents=True, exist_ok=True)
    preset = replace(get_preset("cifar10"), img_size=S, resize=round(S * 256 / 224), interpolation="lanczos")
    tfm = preset_transform(preset)
    train_tree, test_tree = (datasets.ImageFolder(Path(a.root) / "cifar10" / split, transform=tfm) for split in ("train", "test"))
    assert tuple(test_tree.classes) == DATASET_CLASSES["cifar10"], test_tree.classes
    targets = np.array(test_tree.targets)
    rng = np.random.default_rng(0)  # the same test subset for every class and run
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(targets == c))[:a.test_per_class] for c in range(10)]))
    source = resolve_source(a.source)
    probe = MKD.from_preset("cifar10", source=source, img_size=S, device="cpu")
    origin = probe.source.origin
    cached = work / f"test_features_{origin.split(' ')[0]}_{S}px_{a.test_per_class}perclass.pt"
    t = time.perf_counter()
    if cached.is_file(): test_x, feats = torch.load(cached, weights_only=True).values()
    else:
        test_x = stacked(Subset(test_tree, keep.tolist()))
        feats = activations(probe.source, probe, test_x, dtype=torch.float16)  # half the memory; scores are computed in float32
        atomic_write(cached, lambda tmp: torch.save({"images": test_x, "feats": feats}, tmp))
    test_seconds = time.perf_counter() - t
    print(f"CIFAR-10 at {S} px ({preset.resize} px, centre crop, Lanczos), source {origin}: {len(keep)} test images "
          f"({a.test_per_class} per class), their source features in {test_seconds:.0f} s", flush=True)
    for c in a.classes:
        name = DATASET_CLASSES["cifar10"][c]
        normal = np.random.default_rng(a.seed).permutation(np.flatnonzero(np.array(train_tree.targets) == c))[:a.train_per_class]
        train = Subset(train_tree, np.sort(normal).tolist())
        labels = (targets[keep] != c).astype(int)
        mkd = MKD.from_preset("cifar10", source=source, img_size=S, seed=a.seed, epochs=a.epochs, device="cpu")

        def on_epoch_end(epoch, get_state):
            if epoch in a.curve or epoch == a.epochs:
                mkd.cloner.eval()
                scores = test_scores(mkd, test_x, feats)
                mkd.cloner.train()
                row = {"class": c, "name": name, "img_size": S, "source": origin, "seed": a.seed, "epoch": epoch,
                       "n_train": len(train), "n_test": len(keep), "test_per_class": a.test_per_class,
                       "image_auroc": 100 * image_auroc(scores["all"], labels),
                       "image_auroc_pool3-5": 100 * image_auroc(scores["pool3-5"], labels),
                       "train_seconds": round(sum(get_state()["history"]["epoch_seconds"]), 1), "threads": torch.get_num_threads()}
                append_rows(out / "curve.csv", list(row), [row])
                print({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)

        t = time.perf_counter()
        hist = mkd.fit(train, on_epoch_end=on_epoch_end, progress=False, max_cache_gb=6.0)
        timing = {"class": c, "img_size": S, "source": origin, "seed": a.seed, "epochs": a.epochs, "n_train": len(train),
                  "cache_seconds": round(hist["cache_seconds"], 1), "cache": hist["cache"],
                  "mean_epoch_seconds": round(float(np.mean(hist["epoch_seconds"])), 2),
                  "test_features_seconds": round(test_seconds, 1), "wall_seconds": round(time.perf_counter() - t, 1),
                  "threads": torch.get_num_threads()}
        append_rows(out / "timing.csv", list(timing), [timing])
        print(timing, flush=True)
