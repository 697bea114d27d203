"""Real surfaces (Magnetic Tile Defects, MVTec AD layout) and the object fixture with a given source: learning curves,
then every map and image-score setting measured on a *validation* half and a *test* half of the labelled test images,
so that defaults are chosen on one half and reported on the other (`nbs/tutorials/real_surfaces.ipynb`).

The halves: a seeded half of each defect type and of test/good (split seed 0, the same for every model), see `halves`.
Calibration images: a share of train/good held out (`held_out_split`, the model's seed), never trained on.

    # train (learning curve every --every epochs, the cloner kept at each), for each seed
    python bench/bench_surfaces.py train --data magnetic_tile --seeds 0 1 2 --epochs 200 --every 10
    # every setting of the grid on the model of one epoch
    python bench/bench_surfaces.py grid --data magnetic_tile --seeds 0 1 2 --epoch 200
    # hits and misses of one map setting on the test half
    python bench/bench_surfaces.py examples --data magnetic_tile --seeds 0 --epoch 200 --settings "pool2-3, sigma 4, minus mean"
    # a longer run continues the kept training state
    python bench/bench_surfaces.py train --data magnetic_tile --seeds 0 --epochs 400 --every 10
    # how much of the defects a centre crop keeps (the data alone)
    python bench/bench_surfaces.py crop --data magnetic_tile

Rows are appended to CSV files in --out (curve.csv, grid.csv, timing.csv), each with the data, source label, seed,
held-out share, epoch and half; models and training states go to --work (not committed).
"""
import argparse, itertools, os, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mkd_nb.core import MKD
from mkd_nb.data import MVTecAD, extract_archive, local_datasets, make_synthetic_mvtec
from mkd_nb.files import append_rows, atomic_write
from mkd_nb.localization import MapSettings, discrepancy_maps, map_scores
from mkd_nb.metrics import aupro, f1_max, false_alarm_threshold, image_auroc, pixel_auroc, precision_recall_at
from mkd_nb.models import resolve_source
from mkd_nb.runs import held_out_split

from bench_real_maps import crop_keeps, stacked  # the earlier study's helpers (this script runs from bench/, beside it)

HALVES = ("validation", "test")


def category_folder(data: str, root: Path) -> Path:
    "The category folder of `data`: magnetic_tile extracted from the local copy, or the object fixture written under `root`."
    if data == "objects":
        if (root / "objects").is_dir(): return root / "objects"
        return make_synthetic_mvtec(root, "objects", n_train=240, n_good=40, n_defective=30, size=128, appearance="object", seed=1)
    if (root / "magnetic_tile").is_dir(): return root / "magnetic_tile"
    return extract_archive(local_datasets() / "magnetic_tile" / "magnetic_tile_mvtec_layout.tar.gz", root / "extracted") / "magnetic_tile"


def halves(types: np.ndarray, seed: int = 0) -> np.ndarray:
    "'validation' or 'test' for each test image: a seeded half (rounded up) of each defect type and of the good images."
    rng, half = np.random.default_rng(seed), np.empty(len(types), dtype=object)
    for t in sorted(set(types)):
        idx = rng.permutation(np.flatnonzero(types == t))
        half[idx[: (len(idx) + 1) // 2]], half[idx[(len(idx) + 1) // 2:]] = "validation", "test"
    return half


@torch.no_grad()
def activations(net, mkd: MKD, x: torch.Tensor, pad: int = 0, batch_size: int = 32) -> dict:
    "Activations of `net` (mkd.source or mkd.cloner) for images `x`, their edges repeated `pad` pixels as `border_pad` does, on the CPU."
    out = {}
    for b in x.split(batch_size):
        b = F.pad(b, (pad,) * 4, mode="replicate") if pad else b
        for k, v in net(mkd.prepare(b.to(mkd.device))).items(): out.setdefault(k, []).append(v.float().cpu())
    return {k: torch.cat(v) for k, v in out.items()}


def maps_of(preds, feats, size, settings, mkd, pad=0, batch_size=64) -> torch.Tensor:
    "Discrepancy maps (N, H, W) from stored activations; with `pad`, made at the padded size and cropped back."
    n, out = len(next(iter(preds.values()))), []
    for i in range(0, n, batch_size):
        p = {k: v[i:i + batch_size] for k, v in preds.items()}; f = {k: v[i:i + batch_size] for k, v in feats.items()}
        m = discrepancy_maps(p, f, (size + 2 * pad, size + 2 * pad), settings, mkd.config.lam, mkd.config.weighting)
        out.append(m[:, pad:pad + size, pad:pad + size] if pad else m)
    return torch.cat(out)


def threshold_rows(test_scores, held_scores, labels, rate=0.05) -> dict:
    "At the split-conformal threshold of the held-out scores for `rate`: false-alarm rate, recall and F1 on the test images, and F1-max."
    t = false_alarm_threshold(held_scores, rate)["threshold"]
    at = precision_recall_at(test_scores, labels, t)
    good = labels == 0
    return {f"far_at_{rate}": float((np.asarray(test_scores)[good] > t).mean()), f"recall_at_{rate}": at["recall"],
            f"f1_at_{rate}": at["f1"], "f1_max": f1_max(test_scores, labels)}


class Setup:
    "One data set read, its halves, and the names of a model's files."
    def __init__(self, a):
        self.a, self.S = a, a.img_size
        root = Path(a.root or tempfile.mkdtemp())
        category = category_folder(a.data, root)
        t = time.perf_counter()
        (self.train_x,) = stacked(MVTecAD(category.parent, category.name, "train", self.S))[:1]
        test = MVTecAD(category.parent, category.name, "test", self.S)
        self.test_x, labels, masks = stacked(test)
        self.labels, self.masks = labels.numpy(), masks.numpy() > 0
        self.types = np.array([d for _, d, _ in test.samples])
        self.half = halves(self.types, 0)
        self.source = resolve_source(a.source)
        self.origin = MKD(source=self.source, img_size=self.S, device="cpu").source.origin
        print(f"{a.data}: {len(self.train_x)} normal training images, {len(self.test_x)} test images "
              f"({', '.join(f'{(self.half == h).sum()} {h}' for h in HALVES)}), read in {time.perf_counter() - t:.0f} s; "
              f"source {self.origin}", flush=True)

    def model(self, seed: int) -> tuple:
        "A fresh model of `seed`, and its held-out split."
        mkd = MKD.from_preset("mvtec", source=self.source, img_size=self.S, seed=seed, device="cpu")
        return mkd, held_out_split(len(self.train_x), self.a.held_out, seed)

    def folder(self, seed: int) -> Path:
        return Path(self.a.work) / f"{self.a.data}_{self.origin.split(' ')[0]}_{self.S}px_held{self.a.held_out:g}_seed{seed}"

    def base(self, seed: int) -> dict:
        return dict(data=self.a.data, source=self.origin, img_size=self.S, held_out=self.a.held_out, seed=seed)


@torch.no_grad()
def curve_metrics(s: Setup, mkd: MKD, feats, held_feats, held_idx) -> dict:
    "Per half: the loss score's image AUROC, and the discrepancy maps of all layers and of pool2-3 minus the normal mean."
    preds, held_preds = activations(mkd.cloner, mkd, s.test_x), activations(mkd.cloner, mkd, s.train_x[held_idx])
    loss = mkd.scores_of(preds, feats).numpy()
    all4 = maps_of(preds, feats, s.S, MapSettings("discrepancy", scale_per_image=False), mkd)
    shallow = MapSettings("discrepancy", scale_per_image=False, layers=("pool2", "pool3"))
    p23 = maps_of(preds, feats, s.S, shallow, mkd) - maps_of(held_preds, held_feats, s.S, shallow, mkd).mean(0)
    out = {}
    for h in HALVES:
        k = s.half == h
        out[h] = {"image_auroc_loss": image_auroc(loss[k], s.labels[k]),
                  "pixel_auroc_all4": pixel_auroc(all4[k], s.masks[k]), "aupro_all4": aupro(all4[k], s.masks[k]),
                  "pixel_auroc_pool23_mean": pixel_auroc(p23[k], s.masks[k]), "aupro_pool23_mean": aupro(p23[k], s.masks[k]),
                  "image_auroc_max_pool23_mean": image_auroc(map_scores(p23[k]), s.labels[k])}
    return out


def train(s: Setup, seed: int):
    "Train (or continue) one model up to --epochs, measuring the learning curve and keeping the cloner every --every epochs."
    a, folder = s.a, s.folder(seed)
    folder.mkdir(parents=True, exist_ok=True)
    mkd, (train_idx, held_idx) = s.model(seed)
    state = torch.load(folder / "state.pt", weights_only=False) if (folder / "state.pt").is_file() else None
    done = 0 if state is None else state["epoch"]
    if done >= a.epochs: print(f"seed {seed}: {done} epochs trained already"); return
    feats, held_feats = activations(mkd.source, mkd, s.test_x), activations(mkd.source, mkd, s.train_x[held_idx])
    clock = {"train": 0.0 if state is None else state.get("train_seconds", 0.0), "last": time.perf_counter()}

    def on_epoch_end(epoch, get_state):
        clock["train"] += time.perf_counter() - clock["last"]
        if epoch % a.every == 0 or epoch == a.epochs:
            atomic_write(folder / f"cloner_epoch{epoch}.pt", lambda tmp: torch.save(mkd.cloner.state_dict(), tmp))
            mkd.cloner.eval()  # as it scores after training (batch norm's running statistics), leaving them unchanged
            r = curve_metrics(s, mkd, feats, held_feats, held_idx)
            mkd.cloner.train()
            rows = [{**s.base(seed), "epoch": epoch, "half": h, **m, "train_seconds": round(clock["train"], 1),
                     "threads": torch.get_num_threads()} for h, m in r.items()]
            append_rows(Path(a.out) / "curve.csv", list(rows[0]), rows)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[1].items()}, flush=True)
        if epoch == a.epochs:
            atomic_write(folder / "state.pt", lambda tmp: torch.save({**get_state(), "train_seconds": clock["train"]}, tmp))
        clock["last"] = time.perf_counter()

    mkd.fit(s.train_x[train_idx], epochs=a.epochs, state=state, on_epoch_end=on_epoch_end, progress=False)


def grid_settings(pad: int) -> dict:
    "Discrepancy map settings to compare: name -> (MapSettings fields, subtract the mean normal map, border pad)."
    layer_sets = {"pool2": ("pool2",), "pool3": ("pool3",), "pool4": ("pool4",), "pool2-3": ("pool2", "pool3"),
                  "pool3-4": ("pool3", "pool4"), "pool2-4": ("pool2", "pool3", "pool4"), "pool3-5": ("pool3", "pool4", "pool5"),
                  "pool4-5": ("pool4", "pool5"), "pool2-5": ("pool2", "pool3", "pool4", "pool5")}
    grid = {}
    for (name, layers), sigma, mean in itertools.product(layer_sets.items(), (0, 2, 4, 8), (False, True)):
        grid[f"{name}, sigma {sigma}{', minus mean' if mean else ''}"] = (dict(layers=layers, gaussian_sigma=sigma), mean, 0)
    for name in ("pool2-3", "pool2-4", "pool2-5"):
        for mean in (False, True):
            grid[f"{name}, sigma 4{', minus mean' if mean else ''}, pad {pad}"] = (dict(layers=layer_sets[name], gaussian_sigma=4), mean, pad)
            grid[f"{name}, sigma 4{', minus mean' if mean else ''}, terms loss"] = (dict(layers=layer_sets[name], gaussian_sigma=4, terms="loss"), mean, 0)
    return grid


def grid(s: Setup, seed: int, epoch: int):
    "Every map, image score and threshold setting on the model of `epoch`, per half."
    a, folder = s.a, s.folder(seed)
    mkd, (_, held_idx) = s.model(seed)
    mkd.cloner.load_state_dict(torch.load(folder / f"cloner_epoch{epoch}.pt", weights_only=True))
    mkd.eval()
    t = time.perf_counter()
    held_x = s.train_x[held_idx]
    acts = {pad: {which: (activations(mkd.cloner, mkd, x, pad), activations(mkd.source, mkd, x, pad))
                  for which, x in (("test", s.test_x), ("held", held_x))} for pad in (0, a.pad)}
    base, k1 = {**s.base(seed), "epoch": epoch}, max(1, s.S * s.S // 100)
    rows, normal_maps = [], {}

    def record(setting, kind, test_scores, held_scores, test_maps=None):
        for h in HALVES:
            k = s.half == h
            r = {"image_auroc": image_auroc(test_scores[k], s.labels[k]), **threshold_rows(test_scores[k], held_scores, s.labels[k])}
            per_type = (h == "test" or a.per_type_validation) and (test_maps is None or setting in (a.per_type or ()))
            if test_maps is not None: r.update(pixel_auroc=pixel_auroc(test_maps[k], s.masks[k]), aupro=aupro(test_maps[k], s.masks[k]))
            for d in sorted(set(s.types) - {"good"}) if per_type else ():  # each defect type against the good images
                keep = k & ((s.types == d) | (s.types == "good"))
                r[f"image_auroc_{d}"] = image_auroc(test_scores[keep], s.labels[keep])
                if test_maps is not None:
                    r[f"pixel_auroc_{d}"], r[f"aupro_{d}"] = pixel_auroc(test_maps[keep], s.masks[keep]), aupro(test_maps[keep], s.masks[keep])
            rows.extend({**base, "setting": setting, "score": kind, "half": h, "metric": m, "value": v} for m, v in r.items())

    # image scores from the loss, on several layer sets (the model's score uses all four)
    (preds, feats), (held_preds, held_feats) = acts[0]["test"], acts[0]["held"]
    for name, layers in {"loss pool2-5": None, "loss pool3-5": ("pool3", "pool4", "pool5"), "loss pool2-3": ("pool2", "pool3"),
                         "loss pool4-5": ("pool4", "pool5"), "loss pool5": ("pool5",)}.items():
        record(name, "loss", mkd.scores_of(preds, feats, layers).numpy(), mkd.scores_of(held_preds, held_feats, layers).numpy())
    # discrepancy maps, and the map maximum and top-1% mean as image scores
    for name, (fields, mean, pad) in grid_settings(a.pad).items():
        if a.settings and name not in a.settings and name not in (a.per_type or ()): continue
        ms = MapSettings("discrepancy", scale_per_image=False, **fields)
        (preds, feats), (held_preds, held_feats) = acts[pad]["test"], acts[pad]["held"]
        test_maps, held_maps = maps_of(preds, feats, s.S, ms, mkd, pad), maps_of(held_preds, held_feats, s.S, ms, mkd, pad)
        if fields["gaussian_sigma"] == 4 and not mean and "terms" not in fields:  # the mean map of the good test images, corners and all
            normal_maps[name] = test_maps[s.labels == 0].mean(0).numpy()
        if mean: test_maps, held_maps = test_maps - held_maps.mean(0), held_maps - held_maps.mean(0)
        record(name, "map max", map_scores(test_maps).numpy(), map_scores(held_maps).numpy(), test_maps)
        record(name, "map top 1%", map_scores(test_maps, k1).numpy(), map_scores(held_maps, k1).numpy())
        print(f"seed {seed} epoch {epoch} {name}: " + ", ".join(f"{r['half'][:4]} {r['metric']} {r['value']:.3f}" for r in rows[-20:]
                                                               if r["metric"] in ("pixel_auroc", "aupro") and r["score"] == "map max"), flush=True)
    if a.gradients:  # the paper's maps: gradients of the score, smoothed (sigma 4), on one scale and scaled per image
        for per_image in (False, True):
            name = f"gradients, sigma 4{', scaled per image' if per_image else ''}"
            ms = dict(scale_per_image=per_image, gaussian_sigma=4)
            tm, ts = mkd.localize(s.test_x, "gradients", batch_size=16, return_scores=True, **ms)
            hm = mkd.localize(held_x, "gradients", batch_size=16, **ms)
            record(name, "map max", map_scores(tm).numpy(), map_scores(hm).numpy(), tm)
    append_rows(Path(a.out) / "grid.csv", list(rows[0]), rows)
    np.savez_compressed(Path(a.out) / f"mean_normal_maps_{a.data}_seed{seed}_epoch{epoch}.npz", **normal_maps)
    timing = {**base, "grid_seconds": round(time.perf_counter() - t, 1), "threads": torch.get_num_threads()}
    append_rows(Path(a.out) / "timing.csv", list(timing), [timing])
    print(timing, flush=True)


def examples(s: Setup, seed: int, epoch: int, setting: str):
    "Hits and misses on the test half: per defect type its highest- and lowest-scoring image, and the highest-scoring good one."
    import matplotlib; matplotlib.use("Agg")
    from mkd_nb.plots import save_figure, show_maps
    a, (fields, mean, pad) = s.a, grid_settings(s.a.pad)[setting]
    mkd, (_, held_idx) = s.model(seed)
    mkd.cloner.load_state_dict(torch.load(s.folder(seed) / f"cloner_epoch{epoch}.pt", weights_only=True))
    mkd.eval()
    test = np.flatnonzero(s.half == "test")
    x, held_x = s.test_x[test], s.train_x[held_idx]
    ms = MapSettings("discrepancy", scale_per_image=False, **fields)
    (preds, feats), (held_preds, held_feats) = [(activations(mkd.cloner, mkd, v, pad), activations(mkd.source, mkd, v, pad)) for v in (x, held_x)]
    maps, held_maps = maps_of(preds, feats, s.S, ms, mkd, pad), maps_of(held_preds, held_feats, s.S, ms, mkd, pad)
    if mean: maps, held_maps = maps - held_maps.mean(0), held_maps - held_maps.mean(0)
    scores, types = mkd.scores_of(*(activations(mkd.cloner, mkd, x), activations(mkd.source, mkd, x))).numpy(), s.types[test]
    picked, titles = [], []
    for d in sorted(set(types) - {"good"}):
        idx = np.flatnonzero(types == d)
        for which, i in (("highest", idx[np.argmax(scores[idx])]), ("lowest", idx[np.argmin(scores[idx])])):
            picked.append(i); titles.append(f"{d}: {which} score")
    good = np.flatnonzero(types == "good"); picked.append(good[np.argmax(scores[good])]); titles.append("good: highest score")
    lo, hi = float(np.quantile(held_maps.numpy(), 0.5)), float(np.quantile(held_maps.numpy(), 0.999))
    heat = ((maps[picked] - lo) / max(hi - lo, 1e-12) * 0.5).clamp(0, 1)  # 0 at the normal median pixel, 0.5 at its 0.999 quantile
    fig = show_maps(x[picked], heat, s.masks[test][picked], titles, outlines=heat > 0.5, value_range=(0, 1),
                    heat_title="map (0.5: normal 0.999 quantile), outlined above it",
                    title=f"{a.data}, test half, seed {seed}, {epoch} epochs, source {s.origin}; maps: {setting}")
    name = f"examples_{a.data}_seed{seed}_epoch{epoch}_{setting.replace(', ', '_').replace(' ', '')}.png"
    save_figure(fig, Path(a.out) / name, dpi=60)
    print(f"wrote {Path(a.out) / name}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=("train", "grid", "examples", "crop"),
                    help="examples: hits and misses of --settings' first map setting; crop: how much of the defects a centre crop keeps (no model)")
    ap.add_argument("--data", default="magnetic_tile", choices=("magnetic_tile", "objects"))
    ap.add_argument("--source", default="imagenet", help="imagenet (torchvision's, else $MKD_VGG16_WEIGHTS), random or a file")
    ap.add_argument("--img-size", type=int, default=128)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=200, help="train: train up to this many epochs")
    ap.add_argument("--every", type=int, default=10, help="train: learning curve and cloner kept every this many epochs")
    ap.add_argument("--epoch", type=int, nargs="+", default=[200], help="grid: the models (epochs) to measure")
    ap.add_argument("--held-out", type=float, default=0.1, help="share of train/good held out for calibration")
    ap.add_argument("--pad", type=int, default=16, help="grid: border padding measured against none")
    ap.add_argument("--settings", nargs="+", default=None, help="grid: only these map settings (default: all)")
    ap.add_argument("--gradients", action="store_true", help="grid: also the paper's gradient maps (slow)")
    ap.add_argument("--per-type", nargs="+", default=None, help="grid: map settings also measured per defect type (the loss scores always are)")
    ap.add_argument("--per-type-validation", action="store_true", help="grid: per defect type on the validation half too")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    ap.add_argument("--root", default=None, help="where the data is extracted or written (default: a temporary folder)")
    ap.add_argument("--work", default="bench_work/surfaces", help="models and training states (not committed)")
    ap.add_argument("--out", default="bench/results/surfaces")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    if a.phase == "crop":
        keeps = {"data": a.data, **crop_keeps(category_folder(a.data, Path(a.root or tempfile.mkdtemp())))}
        append_rows(Path(a.out) / "crop_keeps.csv", list(keeps), [keeps]); print(keeps); raise SystemExit
    s = Setup(a)
    for seed in a.seeds:
        if a.phase == "train": train(s, seed)
        for epoch in a.epoch if a.phase != "train" else ():
            if a.phase == "grid": grid(s, seed, epoch)
            else: examples(s, seed, epoch, a.settings[0])
