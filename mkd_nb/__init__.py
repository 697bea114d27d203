"""Multiresolution Knowledge Distillation for anomaly detection, notebook-first.

`import mkd_nb` hands out every exported name of every module (`mkd_nb.MKD`, `mkd_nb.one_class_split`,
`mkd_nb.evaluate`, ...) and the modules themselves (`mkd_nb.metrics`). The names are read from the `__all__` lists
that nbdev writes into each module, so they cannot drift from the notebooks; a module is imported the first time it
or one of its names is used, so `import mkd_nb` and the console scripts' `--help` stay light.
"""
__version__ = "0.2.0"

import ast as _ast
import importlib as _importlib
from functools import cache as _cache
from pathlib import Path as _Path

_MODULES = tuple(sorted(p.stem for p in _Path(__file__).parent.glob("*.py") if not p.stem.startswith("_")))

@_cache
def _homes() -> dict:
    "Exported name -> the module that defines it, from each module's nbdev-generated `__all__`."
    homes = {}
    for module in _MODULES:
        tree = _ast.parse((_Path(__file__).parent / f"{module}.py").read_text())
        for node in tree.body:
            if isinstance(node, _ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
                for name in _ast.literal_eval(node.value): homes.setdefault(name, module)
    return homes

def __getattr__(name):
    if name in _MODULES: return _importlib.import_module(f"{__name__}.{name}")
    if name == "__all__": return sorted(_homes())
    if name not in _homes(): raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"{__name__}.{_homes()[name]}"), name)
    globals()[name] = value
    return value

def __dir__(): return sorted({n for n in globals() if not n.startswith("_")} | set(_homes()) | set(_MODULES))
