"""Speed and memory of MKD detection on this machine: scoring and training at 128x128 (MVTec AD's size).

Each measurement runs in its own process so that its peak memory (max RSS) is its own; times are the best of
several runs (scoring: 3 calls after a warm-up, `mkd_nb.reproduce.best_time`; training: the epochs after the first).
Prints a table.
    python bench/bench_detection.py [--size 128] [--threads 2] [--n_train 128] [--epochs 3]
The source is a seeded random VGG16: weights do not change the speed.
"""
import argparse, json, resource, subprocess, sys

import torch


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(mode, size, n_train, epochs, batch):
    from mkd_nb.core import MKD
    from mkd_nb.losses import mkd_loss
    from mkd_nb.reproduce import best_time
    torch.manual_seed(0)
    mkd = MKD(source="random", img_size=size, lam=0.5, batch_size=batch, device="cpu")
    if mode == "vgg16_forward":  # the floor: VGG16's own forward pass up to pool5
        x = torch.rand(batch, 3, size, size)
        x = mkd.prepare(x)
        with torch.inference_mode():
            sec = best_time(lambda: mkd.source(x)) / batch
        return {"ms_per_image": 1000 * sec, "images_per_s": 1 / sec}
    if mode == "score":  # source + cloner forward, through the public API
        x = torch.rand(4 * batch, 3, size, size)
        sec = best_time(lambda: mkd.score(x, batch_size=batch)) / len(x)
        return {"ms_per_image": 1000 * sec, "images_per_s": 1 / sec}
    x = torch.rand(n_train, 3, size, size)
    if mode in ("train_cache", "train_no_cache"):
        h = mkd.fit(x, epochs=epochs, cache="memory" if mode == "train_cache" else "none", progress=False)
        epoch = min(h["epoch_seconds"][1:])  # steady state: the first epoch warms up; best of the others
        res = {"images_per_s": n_train / epoch}
        if mode == "train_cache":
            res.update(cache_build_s=h["cache_seconds"],
                       images_per_s_incl_cache=n_train * epochs / (h["cache_seconds"] + sum(h["epoch_seconds"])))
        return res
    if mode == "train_reference_style":  # the reference's step: source not frozen, backward through VGG16 too
        mkd.source.requires_grad_(True)
        opt = torch.optim.Adam(mkd.cloner.parameters(), lr=1e-3)
        mkd.train()
        def epoch():
            for i in range(0, n_train, batch):
                xb = x[i:i + batch]
                loss = mkd_loss(mkd.cloner(xb), mkd.source(xb), 0.5)
                opt.zero_grad(); loss.backward(); opt.step()
        return {"images_per_s": n_train / best_time(epoch, repeat=epochs - 1, warmup=1)}  # the first epoch warms up
    raise ValueError(mode)


MODES = ("vgg16_forward", "score", "train_cache", "train_no_cache", "train_reference_style")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128, help="image side")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--n_train", type=int, default=128, help="training images")
    ap.add_argument("--epochs", type=int, default=4, help="training epochs (the first is not timed)")
    ap.add_argument("--batch", type=int, default=32, help="batch size")
    ap.add_argument("--mode", choices=MODES, help="run one measurement in this process (internal)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.mode:
        res = measure(a.mode, a.size, a.n_train, a.epochs, a.batch)
        print(json.dumps({**res, "peak_rss_mb": peak_rss_mb()}))
        sys.exit()
    print(f"MKD detection benchmark: {a.size}x{a.size} inputs, {a.threads} threads, torch {torch.__version__}, "
          f"batch {a.batch}, {a.n_train} training images, compact cloner, random source")
    print(f"{'measurement':<24}{'ms/image':>10}{'images/s':>10}{'peak RSS MB':>13}  notes")
    for mode in MODES:
        out = subprocess.run([sys.executable, __file__, "--mode", mode] + [f"--{k}={v}" for k, v in vars(a).items() if k != "mode"],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ms = f"{r['ms_per_image']:.1f}" if "ms_per_image" in r else ""
        notes = f"cache built in {r['cache_build_s']:.1f} s; {r['images_per_s_incl_cache']:.1f} img/s over {a.epochs} epochs incl. cache" \
            if "cache_build_s" in r else ""
        print(f"{mode:<24}{ms:>10}{r['images_per_s']:>10.1f}{r['peak_rss_mb']:>13.0f}  {notes}")
