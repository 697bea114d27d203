"""Milliseconds per image of a detector run by onnxruntime (`mkd_predict --backend onnx`) against the same model in
PyTorch (`--backend torch`), at batch 1 and 32, in the same run on this machine.

What is timed is the model's whole prediction for a batch of images already read: scores, smoothed discrepancy maps,
heat maps, calibrated scores and decisions (`mkd_nb.predict.TorchDetector` and `mkd_nb.deploy.OnnxDetector`, the two
backends of `predict_images`), the best of several calls after a warm-up (`mkd_nb.reproduce.best_time`). The model is
the paper's MVTec AD setup (128x128, the default four critical layers) with a seeded random source (weights do not
change the speed), calibrated on a few random images, exported with a dynamic batch. Both runtimes use the same number
of threads. The largest differences between the two backends' outputs are printed too.
    python bench/bench_onnx.py [--size 128] [--threads 2] [--batches 1 32]
"""
import argparse, contextlib, io, os, tempfile, time, warnings
from pathlib import Path

import numpy as np

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128, help="image side")
    ap.add_argument("--threads", type=int, default=2, help="threads of both runtimes")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="images per call")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    import onnxruntime as ort
    from mkd_nb.core import MKD
    from mkd_nb.deploy import OnnxDetector
    from mkd_nb.export import export_onnx
    from mkd_nb.predict import TorchDetector
    from mkd_nb.reproduce import best_time

    mkd = MKD.from_preset("mvtec", source="random", device="cpu")
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a calibration on few images warns: it only sets the outputs' form here
        mkd.calibrate(torch.from_numpy(rng.random((8, 3, args.size, args.size), dtype=np.float32)))
    path = Path(tempfile.mkdtemp()) / "detector.onnx"
    start = time.perf_counter()
    export_onnx(mkd, path, progress=False)
    print(f"export: {time.perf_counter() - start:.0f} s, {path.stat().st_size / 1e6:.0f} MB; torch {torch.__version__}, "
          f"onnxruntime {ort.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, {args.size}x{args.size} images")
    onnx_detector = OnnxDetector(path, device="cpu")
    options = ort.SessionOptions(); options.intra_op_num_threads = args.threads; options.inter_op_num_threads = 1
    onnx_detector.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    torch_detector = TorchDetector(mkd)
    for batch in args.batches:
        x = rng.random((batch, 3, args.size, args.size), dtype=np.float32)
        a, b = torch_detector(x), onnx_detector(x)
        score_rel = float(np.max(np.abs(a["scores"] - b["scores"]) / np.abs(a["scores"])))
        map_rel = float(np.abs(a["maps"] - b["maps"]).max() / np.abs(a["maps"]).max())
        repeat = 5 if batch < 8 else 3
        t_torch = best_time(lambda: torch_detector(x), repeat=repeat) / batch
        t_onnx = best_time(lambda: onnx_detector(x), repeat=repeat) / batch
        print(f"batch {batch:>2}: PyTorch {1000 * t_torch:7.1f} ms/image, onnxruntime {1000 * t_onnx:7.1f} ms/image "
              f"({t_torch / t_onnx:.2f}x); scores max rel diff {score_rel:.1e}, maps {map_rel:.1e} of the largest value")
