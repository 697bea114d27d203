"""Multiresolution Knowledge Distillation for anomaly detection, notebook-first.

`import mkd_nb` hands out the main names of every module (`mkd_nb.MKD`, `mkd_nb.one_class_split`, `mkd_nb.evaluate`,
...) and the modules themselves (`mkd_nb.metrics`); each module is loaded the first time it or one of its names is
used, so `import mkd_nb.metrics` alone stays light.
"""
__version__ = "0.1.0"

import importlib as _importlib

_MODULES = ("basics", "data", "models", "losses", "localization", "training", "core", "metrics", "evaluation", "plots", "demo", "reproduce", "runs", "predict", "report")
_HOMES = {  # name -> the module that defines it
    "MKD": "core", "MKDConfig": "core", "Calibration": "core",
    "Source": "models", "Cloner": "models", "mkd_loss": "losses",
    "PRESETS": "data", "one_class_split": "data", "MVTecAD": "data", "FolderDataset": "data",
    "make_synthetic_mvtec": "data",
    "MapSettings": "localization", "discrepancy_maps": "localization", "map_scores": "localization",
    "train_cloner": "training", "training_state": "training",
    "train_run": "runs", "mkd_train": "runs", "held_out_split": "runs", "read_train_log": "runs",
    "image_auroc": "metrics", "pixel_auroc": "metrics", "aupro": "metrics", "paper_pixel_auroc": "metrics",
    "detect": "evaluation", "evaluate": "evaluation",
    "plot_roc": "plots", "plot_score_histograms": "plots", "show_maps": "plots", "save_figure": "plots", "plot_study": "plots",
    "overlay": "plots", "overlay_panel": "plots", "save_image": "plots",
    "predict_images": "predict", "find_images": "predict", "read_image": "predict",
    "evaluation_report": "report", "report_metrics": "report", "mkd_evaluate": "report",
    "STUDIES": "reproduce", "paper_results": "reproduce", "compare_with_paper": "reproduce",
}
__all__ = list(_HOMES)

def __getattr__(name):
    if name in _MODULES: return _importlib.import_module(f"{__name__}.{name}")
    if name not in _HOMES: raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value

def __dir__(): return sorted({n for n in globals() if not n.startswith("_")} | set(__all__) | set(_MODULES))
