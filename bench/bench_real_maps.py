"""Maps, image scores, borders, epochs and thresholds measured on real surfaces (Magnetic Tile Defects, MVTec AD layout)
and on the object fixtures, over several seeds: the measurements behind the defaults of `tutorials/real_surfaces`.

For each seed one model is trained (random source: ImageNet weights cannot be had offline); during training, through
`MKD.fit`'s `on_epoch_end`, the test set is scored every few epochs (the learning curve); after the last epoch, map
settings, image scores, border handling and thresholds are compared on the same trained model. Rows are appended to
CSV files in --out (one per kind of measurement), each with the data, resize mode, seed, epochs and source.

    python bench/bench_real_maps.py --data magnetic_tile --seeds 0 1 2 --epochs 30 --curve 5 10 20 30
    python bench/bench_real_maps.py --data magnetic_tile --crop --seeds 0 1 2 --epochs 10 --curve 10 --no-grid
    python bench/bench_real_maps.py --data objects --seeds 0 1 2 --epochs 30
"""
import argparse, json, math, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Subset

from mkd_nb.core import MKD
from mkd_nb.data import MVTecAD, local_datasets, make_synthetic_mvtec, extract_archive
from mkd_nb.files import append_rows
from mkd_nb.localization import MapSettings, discrepancy_maps, map_scores
from mkd_nb.metrics import (aupro, f1_max, false_alarm_threshold, image_auroc, pixel_auroc, precision_recall_at,
                            threshold_from_normal)
from mkd_nb.runs import held_out_split


def category_folder(data: str, root: Path) -> Path:
    "The category folder of `data`: magnetic_tile extracted from the local copy, or the object fixture written under `root`."
    if data == "objects":
        return make_synthetic_mvtec(root, "objects", n_train=240, n_good=40, n_defective=30, size=128, appearance="object",
                                    seed=1, overwrite=True)
    if (root / "magnetic_tile").is_dir(): return root / "magnetic_tile"  # extracted before
    return extract_archive(local_datasets() / "magnetic_tile" / "magnetic_tile_mvtec_layout.tar.gz", root / "extracted") / "magnetic_tile"


def stacked(dataset) -> tuple:
    "All items of a dataset stacked: images, and (test sets) labels and masks."
    items = [dataset[i] for i in range(len(dataset))]
    return tuple(torch.stack([torch.as_tensor(v) for v in column]) for column in zip(*items))


def crop_keeps(category: Path) -> dict:
    "How much of each defect a centre crop keeps, at the images' own resolution."
    kept = []
    for mask_path in sorted((category / "ground_truth").rglob("*_mask.png")):
        m = np.asarray(Image.open(mask_path).convert("L")) > 0
        h, w = m.shape
        s = min(h, w); top, left = (h - s) // 2, (w - s) // 2
        kept.append(m[top:top + s, left:left + s].sum() / max(m.sum(), 1))
    kept = np.array(kept)
    return dict(n_defective=len(kept), kept_mean=float(kept.mean()), none_kept=int((kept == 0).sum()),
                under_half_kept=int((kept < 0.5).sum()))


@torch.inference_mode()
def activations(net, mkd: MKD, x: torch.Tensor, pad: int = 0, batch_size: int = 32) -> dict:
    "Activations of `net` (mkd.source or mkd.cloner) for images `x`, reflect-padded by `pad` pixels, on the CPU."
    out = {}
    for b in x.split(batch_size):
        b = F.pad(b, (pad,) * 4, mode="reflect") if pad else b
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


def paper_scores(preds, feats, mkd) -> torch.Tensor:
    "The paper's image score (the loss on the score's layers) from stored activations."
    return mkd.scores_of(preds, feats)


def measure(scores_test, maps, labels, masks) -> dict:
    "Image AUROC of each image score, and pixel AUROC and AU-PRO of the maps."
    r = {"pixel_auroc": pixel_auroc(maps, masks), "aupro": aupro(maps, masks)}
    for name, s in scores_test.items(): r[f"image_auroc_{name}"] = image_auroc(s, labels)
    return r


def examples(path, images, maps, masks, types, scores, held_maps, title):
    "Hits and misses: per defect type its highest- and lowest-scoring image, and the highest-scoring good one, on one scale."
    import matplotlib; matplotlib.use("Agg")
    from mkd_nb.plots import save_figure, show_maps
    picked, titles = [], []
    for d in sorted(set(types) - {"good"}):
        idx = np.flatnonzero(types == d)
        for which, i in (("highest", idx[np.argmax(scores[idx])]), ("lowest", idx[np.argmin(scores[idx])])):
            picked.append(i); titles.append(f"{d}: {which} score")
    good = np.flatnonzero(types == "good"); picked.append(good[np.argmax(scores[good])]); titles.append("good: highest score")
    lo, hi = float(np.quantile(held_maps.numpy(), 0.5)), float(np.quantile(held_maps.numpy(), 0.999))
    heat = ((maps[picked] - lo) / max(hi - lo, 1e-12) * 0.5).clamp(0, 1)  # 0 at the normal median pixel, 0.5 at its 0.999 quantile
    fig = show_maps(images[picked], heat, masks[picked], titles, outlines=heat > 0.5, value_range=(0, 1),
                    heat_title="map (0.5: normal 0.999 quantile), outlined above it", title=title)
    save_figure(fig, path, dpi=60)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="magnetic_tile", choices=("magnetic_tile", "objects"))
    ap.add_argument("--crop", action="store_true", help="centre-crop (the old default) instead of resizing the whole image")
    ap.add_argument("--img-size", type=int, default=128)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--curve", type=int, nargs="+", default=[5, 10, 20, 30], help="epochs at which the test set is scored")
    ap.add_argument("--no-grid", action="store_true", help="only the learning curve (no map settings, borders, thresholds)")
    ap.add_argument("--pad", type=int, default=16, help="border padding measured against none")
    ap.add_argument("--settings", nargs="+", default=None, help="only these map settings (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--root", default=None, help="where the data is extracted or written (default: a temporary folder)")
    ap.add_argument("--out", default="bench/results/real_maps")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out, S = Path(a.out), a.img_size
    out.mkdir(parents=True, exist_ok=True)
    root = Path(a.root or tempfile.mkdtemp())
    category = category_folder(a.data, root)
    mode = "crop" if a.crop else "resize"
    base = dict(data=a.data, mode=mode, img_size=S, source="random", torch=torch.__version__)
    if not a.crop and a.data == "magnetic_tile":
        append_rows(out / "crop_keeps.csv", ["data", *crop_keeps(category)], [{"data": a.data, **crop_keeps(category)}])

    t = time.perf_counter()
    (train_x,) = stacked(MVTecAD(category.parent, category.name, "train", S, crop=a.crop))[:1]
    test = MVTecAD(category.parent, category.name, "test", S, crop=a.crop)
    test_x, labels, masks = stacked(test)
    labels, masks = labels.numpy(), masks.numpy() > 0
    types = np.array([d for _, d, _ in test.samples])
    print(f"{a.data} ({mode}): {len(train_x)} normal training images, {len(test_x)} test images, read in "
          f"{time.perf_counter() - t:.0f} s")

    for seed in a.seeds:
        train_idx, held_idx = held_out_split(len(train_x), 0.1, seed)
        mkd = MKD.from_preset("mvtec", source="random", img_size=S, seed=seed, epochs=a.epochs)
        t = time.perf_counter()
        feats = activations(mkd.source, mkd, test_x)
        held_feats = activations(mkd.source, mkd, train_x[held_idx])
        feature_seconds = time.perf_counter() - t
        default = MapSettings("discrepancy", scale_per_image=False)
        curve_rows, clock = [], {"train": 0.0, "last": time.perf_counter()}

        def on_epoch_end(epoch, get_state):
            clock["train"] += time.perf_counter() - clock["last"]
            if epoch in a.curve:
                mkd.cloner.eval()  # as it scores after training (batch norm's running statistics), and leaves them unchanged
                preds = activations(mkd.cloner, mkd, test_x)
                mkd.cloner.train()
                maps = maps_of(preds, feats, S, default, mkd)
                r = measure({"paper": paper_scores(preds, feats, mkd), "map_max": map_scores(maps)}, maps, labels, masks)
                row = {**base, "seed": seed, "epoch": epoch, **r, "train_seconds": round(clock["train"], 1)}
                append_rows(out / "curve.csv", list(row), [row])
                print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
            clock["last"] = time.perf_counter()

        mkd.fit(Subset(train_x, train_idx), on_epoch_end=on_epoch_end, progress=False)
        if a.no_grid: continue

        t = time.perf_counter()
        preds, held_preds = activations(mkd.cloner, mkd, test_x), activations(mkd.cloner, mkd, train_x[held_idx])
        pad_feats, pad_preds = activations(mkd.source, mkd, test_x, a.pad), activations(mkd.cloner, mkd, test_x, a.pad)
        held_pad = (activations(mkd.source, mkd, train_x[held_idx], a.pad), activations(mkd.cloner, mkd, train_x[held_idx], a.pad))
        paper, held_paper = paper_scores(preds, feats, mkd).numpy(), paper_scores(held_preds, held_feats, mkd).numpy()
        k1 = max(1, S * S // 100)
        settings = {"default (sigma 4)": {}, "sigma 0": dict(gaussian_sigma=0), "sigma 2": dict(gaussian_sigma=2),
                    "sigma 8": dict(gaussian_sigma=8), "sigma 16": dict(gaussian_sigma=16),
                    "terms value": dict(terms="value"), "terms loss": dict(terms="loss"),
                    "combine product": dict(combine="product"),
                    "pool3-5": dict(layers=("pool3", "pool4", "pool5")), "pool2-4": dict(layers=("pool2", "pool3", "pool4")),
                    "pool2-3": dict(layers=("pool2", "pool3")), "pool4-5": dict(layers=("pool4", "pool5"))}
        grid_rows, mean_maps = [], {}
        for name, kw in settings.items():
            if a.settings and name not in a.settings: continue
            for border in ("none", f"pad {a.pad}", "minus normal mean", f"pad {a.pad}, minus normal mean",
                           f"pad {a.pad}, standardized"):
                if border != "none" and name not in ("default (sigma 4)", "sigma 8", "pool2-3"): continue
                s = MapSettings("discrepancy", scale_per_image=False, **kw)
                pad = a.pad if border.startswith("pad") else 0
                maps = maps_of(pad_preds, pad_feats, S, s, mkd, pad) if pad else maps_of(preds, feats, S, s, mkd)
                held_maps = maps_of(*held_pad, S, s, mkd, pad) if pad else maps_of(held_preds, held_feats, S, s, mkd)
                if "minus normal mean" in border or "standardized" in border:  # per position, from the held-out normal images
                    normal_mean, normal_std = held_maps.mean(0), held_maps.std(0).clamp_min(1e-12)
                    scale = normal_std if "standardized" in border else 1.0
                    maps, held_maps = (maps - normal_mean) / scale, (held_maps - normal_mean) / scale
                if name == "default (sigma 4)": mean_maps[border] = maps[labels == 0].mean(0).numpy()
                if seed == a.seeds[0] and (name, border) in (("default (sigma 4)", "none"), ("pool2-3", "minus normal mean")):
                    examples(out / f"examples_{a.data}_{mode}_seed{seed}_{name.split(' ')[0]}_{border.replace(' ', '_').replace(',', '')}.png",
                             test_x, maps, masks, types, paper, held_maps, f"{a.data}, {mode}, seed {seed}, {a.epochs} epochs, "
                             f"random source; maps: {name}, border {border}")
                scores = {"paper": paper, "map_max": map_scores(maps).numpy(), "top1pct": map_scores(maps, k1).numpy()}
                r = measure(scores, maps, labels, masks)
                for per, keep in [] if name not in ("default (sigma 4)", "sigma 8", "pool2-3") else [(d, (types == d) | (types == "good")) for d in sorted(set(types) - {"good"})]:
                    r[f"aupro_{per}"] = aupro(maps[keep], masks[keep])
                row = {**base, "seed": seed, "epoch": a.epochs, "setting": name, "border": border}
                append_rows(out / "grid_tidy.csv", [*row, "metric", "value"], [{**row, "metric": k, "value": v} for k, v in r.items()])
                print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in {**row, **r}.items()}, flush=True)
                if name in ("default (sigma 4)", "pool2-3"):
                    # thresholds: today's (0.99 and 0.999 quantiles) against the false-alarm rates asked for
                    held_scores = {"paper": held_paper, "map_max": map_scores(held_maps).numpy(),
                                   "top1pct": map_scores(held_maps, k1).numpy()}
                    good = labels == 0
                    for score_name, s_test in scores.items():
                        rules = [("quantile 0.99", threshold_from_normal(held_scores[score_name], 0.99))]
                        rules += [(f"rate {r_}", false_alarm_threshold(held_scores[score_name], r_)["threshold"]) for r_ in (0.01, 0.05, 0.1)]
                        for rule, thr in rules:
                            at = precision_recall_at(s_test, labels, thr)
                            row = {**base, "seed": seed, "epoch": a.epochs, "maps": f"{name}, {border}", "level": "image",
                                   "score": score_name, "rule": rule, "n_held_out": len(held_idx),
                                   "false_alarm_rate": float((s_test[good] > thr).mean()), "recall": at["recall"],
                                   "f1": at["f1"], "f1_max": f1_max(s_test, labels)}
                            append_rows(out / "thresholds.csv", list(row), [row])
                    pixel_f1_max = f1_max(maps, masks)
                    rules = [("quantile 0.999", threshold_from_normal(held_maps, 0.999))]
                    rules += [(f"rate {r_}", threshold_from_normal(held_maps, 1 - r_)) for r_ in (0.001, 0.01, 0.05)]
                    for rule, thr in rules:
                        at = precision_recall_at(maps, masks, thr)
                        row = {**base, "seed": seed, "epoch": a.epochs, "maps": f"{name}, {border}", "level": "pixel",
                               "score": "map", "rule": rule, "n_held_out": len(held_idx),
                               "false_alarm_rate": float((maps.numpy()[good] > thr).mean()), "recall": at["recall"],
                               "f1": at["f1"], "f1_max": pixel_f1_max}
                        append_rows(out / "thresholds.csv", list(row), [row])
        np.savez_compressed(out / f"mean_normal_maps_{a.data}_{mode}_seed{seed}.npz",
                            **{k.replace(" ", "_"): v for k, v in mean_maps.items()})
        timing = {**base, "seed": seed, "epochs": a.epochs, "train_seconds": round(clock["train"], 1),
                  "feature_seconds": round(feature_seconds, 1), "grid_seconds": round(time.perf_counter() - t, 1)}
        append_rows(out / "timing.csv", list(timing), [timing])
        print(timing, flush=True)
