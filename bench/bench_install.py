"""The README's install, measured as a new user meets it: a fresh virtual environment that does not see the machine's
packages, the install command timed, the environment's size on disk, and what PyTorch it brought.

Two paths (README, "Install"):
  default  `pip install -e .`: PyTorch as PyPI serves it for Linux, a CUDA build with its NVIDIA libraries
  cpu      `pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu` first, then `pip install -e .`

    python bench/bench_install.py --paths default cpu --out bench/results/install
    python bench/bench_install.py --paths default --demo    # also times `mkd_demo` (the README's command) there

Where download.pytorch.org cannot be reached (this project's CI machine reaches only PyPI, Debian and npm), the cpu path
is measured with the nearest substitute the machine holds, and the row says so: torch 2.13.0+cpu from the machine's
wheel folder and PyPI's torchvision 0.28.0 (a CUDA-linked build whose compiled operators fail to load beside a CPU
torch; the size differs from the CPU index's torchvision by a few MB). Wheels come from the machine's local package
folders where it has them (pip's configuration), so install times include no download; `wheel_mb` gives what a
download would be (the local files the install took; `downloaded_files` counts any it fetched). One row per path is appended to --out/install.csv.
"""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time, urllib.request, venv
from pathlib import Path
from urllib.parse import unquote, urlparse

from mkd_nb.files import append_rows

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SUBSTITUTE = ["torch==2.13.0+cpu", "torchvision==0.28.0"]  # this machine's nearest CPU-only PyTorch (see above)


def reachable(url: str, timeout: float = 10) -> bool:
    "Whether `url` answers at all."
    try: urllib.request.urlopen(url, timeout=timeout); return True
    except Exception: return False


def du_mb(path: Path) -> float:
    "Megabytes on disk under `path` (files' sizes, links not followed)."
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def timed(cmd: list, **kw) -> float:
    "Run `cmd`, failing with its own message; its wall seconds."
    t = time.perf_counter()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode: raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def wheel_mb(report: Path) -> tuple[float, int]:
    "Megabytes of the local wheel files an install report (`pip install --report`) lists, and how many it took from elsewhere."
    urls = [i["download_info"]["url"] for i in json.loads(report.read_text())["install"]]
    local = [Path(unquote(urlparse(u).path)) for u in urls if u.startswith("file:")]
    return sum(p.stat().st_size for p in local if p.is_file()) / 1e6, len(urls) - len(local)


def measure(path: str, work: Path, demo: bool, out: Path) -> dict:
    "Install the project by `path` into a fresh environment under `work`; the measurements (and the demo's table, to `out`)."
    env = work / f"venv_{path}"
    venv.create(env, with_pip=True)  # system_site_packages=False: nothing of the machine's packages is seen
    pip, py = env / "bin" / "pip", env / "bin" / "python"
    row = {"path": path, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(), "cpu_wheels": ""}
    steps = []
    if path == "cpu":
        if reachable(CPU_INDEX):
            steps.append(("pip install torch torchvision --index-url " + CPU_INDEX, [pip, "install", "-q", "torch", "torchvision", "--index-url", CPU_INDEX]))
            row["cpu_wheels"] = "download.pytorch.org"
        else:
            steps.append(("pip install " + " ".join(SUBSTITUTE), [pip, "install", "-q", *SUBSTITUTE]))
            row["cpu_wheels"] = "substitute: " + " ".join(SUBSTITUTE) + " (download.pytorch.org unreachable)"
    steps.append(("pip install -e .", [pip, "install", "-q", "-e", ROOT]))
    row["commands"] = " && ".join(s for s, _ in steps)
    row["install_seconds"] = round(sum(timed([*cmd, "--report", work / f"report{i}.json"]) for i, (_, cmd) in enumerate(steps)), 1)
    sizes = [wheel_mb(work / f"report{i}.json") for i in range(len(steps))]
    row["wheel_mb"], row["downloaded_files"] = round(sum(m for m, _ in sizes)), sum(n for _, n in sizes)
    row["venv_mb"] = round(du_mb(env))
    probe = ("import importlib.metadata as md, torch; print(torch.__version__, torch.version.cuda or 'none', "
             "round(sum(f.size or 0 for d in md.distributions() if d.metadata['Name'].lower().startswith('nvidia') for f in d.files or []) / 1e6))")
    version, cuda, nvidia_mb = subprocess.run([py, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    row.update(torch=version, torch_cuda=cuda, nvidia_libraries_mb=int(nvidia_mb))
    tv = subprocess.run([py, "-c", "import torchvision, mkd_nb.core"], capture_output=True, text=True)
    row["imports"] = "ok" if tv.returncode == 0 else "failed: " + tv.stderr.strip().splitlines()[-1][:150]
    row["pip_check"] = subprocess.run([pip, "check"], capture_output=True, text=True).returncode == 0
    row["demo_seconds"] = round(timed([env / "bin" / "mkd_demo", "--out", work / "demo"], cwd=work), 1) if demo else ""
    if demo: shutil.copy(work / "demo" / "auroc.csv", out / f"demo_auroc_{path}.csv")
    return row


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paths", nargs="+", default=["default", "cpu"], choices=("default", "cpu"))
    ap.add_argument("--demo", action="store_true", help="also time `mkd_demo` (ten classes, the README's command) in each environment")
    ap.add_argument("--out", default="bench/results/install")
    a = ap.parse_args()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    for path in a.paths:
        with tempfile.TemporaryDirectory() as work:
            row = measure(path, Path(work), a.demo, out)
        print(row, flush=True)
        append_rows(out / "install.csv", list(row), [row])
