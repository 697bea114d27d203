"""Time the console commands on this machine: python bench/bench_commands.py [--help_only | --small]

1. Each command's `--help` (a new process each time, as from a shell): the best of 3 wall times.
2. mkd_train / mkd_predict / mkd_evaluate on a 200-image 128x128 synthetic category (skipped with --help_only;
   --small: a 12-image 32x32 category and one epoch, which checks that every command call still runs, in seconds).
"""
import argparse, json, shutil, subprocess, tempfile, time
from pathlib import Path

COMMANDS = ("mkd_demo", "mkd_train", "mkd_predict", "mkd_evaluate", "mkd_reproduce", "mkd_export")

def help_times(repeat=3):
    "Best-of-`repeat` wall seconds of `COMMAND --help` for each console command, each run in a new process."
    from mkd_nb.reproduce import best_time
    return {c: best_time(lambda: subprocess.run([c, "--help"], check=True, capture_output=True), repeat, warmup=0) for c in COMMANDS}

def timed(args):
    "Wall seconds of one run of the command `args`."
    t = time.perf_counter(); subprocess.run(args, check=True); return time.perf_counter() - t

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--help_only", action="store_true", help="time the commands' --help only")
    ap.add_argument("--small", action="store_true", help="a 12-image 32x32 category, 1 epoch: the calls checked, not timed for the README")
    a = ap.parse_args()
    for command, seconds in help_times().items(): print(f"{command} --help: {seconds:.2f} s (best of 3)")
    if a.help_only: raise SystemExit
    from mkd_nb.data import make_synthetic_mvtec
    root = Path(tempfile.mkdtemp())
    n, size, epochs = (12, 32, 1) if a.small else (200, 128, 3)
    cat = make_synthetic_mvtec(root, f"c{n}", n_train=n, n_good=max(4, n // 5), n_defective=max(2, n // 10), size=size, appearance="object")
    n_test = len(list((cat / "test").rglob("*.png")))
    s = timed(["mkd_train", "--category", str(cat), "--out", str(root / "run"), "--epochs", str(epochs), "--img-size", str(size),
               "--source", "random", "--quiet"])
    info = json.loads((root / "run" / "run.json").read_text())
    log = [l.split(",") for l in (root / "run" / "train_log.csv").read_text().split()[1:]]
    ep = [float(r[2]) for r in log]
    print(f"mkd_train, {info['n_images']} normal images ({info['n_train']} trained, {info['n_images'] - info['n_train']} held out), {epochs} epoch{'s' * (epochs > 1)}: {s:.1f} s; parts {json.dumps({k: round(v, 1) for k, v in info['seconds'].items()})}; "
          f"epoch seconds {ep}; projected 601 epochs: {(s - sum(ep) + 601 * sorted(ep)[min(1, len(ep) - 1)]) / 3600:.2f} h")
    for method in ("discrepancy", "gradients"):
        s = timed(["mkd_predict", "--model", str(root / "run" / "model.pt"), str(cat / "test"), "--out", str(root / f"pred_{method}"), "--method", method, "--quiet"])
        print(f"mkd_predict --method {method}: {n_test} test images in {s:.1f} s ({1e3 * s / n_test:.0f} ms/image incl. start-up)")
    s = timed(["mkd_evaluate", "--model", str(root / "run" / "model.pt"), "--category", str(cat), "--out", str(root / "eval"), "--quiet"])
    print(f"mkd_evaluate: {n_test} test images in {s:.1f} s")
    shutil.rmtree(root)
