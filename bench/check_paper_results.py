"""Check `data/paper_results.csv` (the per-class tables 1-5 of the MKD supplementary) against the paper's printed means.

    python bench/check_paper_results.py [--csv data/paper_results.csv]

The CSV is tidy, one number per row: `table,study,dataset,class,setting,metric,value`, with `value` the number exactly
as the paper prints it (percent AUROC, trailing zeros kept, e.g. "95.10"). Its source is
`shared/paper/supplementary.md` (Salehi et al., "Multiresolution Knowledge Distillation for Anomaly Detection",
CVPR 2021, supplementary material). The paper's "Mean" rows/columns are *not* rows of the CSV; they are transcribed
separately, by hand, in `PRINTED_MEANS_TEXT` below, and this script recomputes them from the per-class rows.

Mapping from the paper's headers to the CSV
-------------------------------------------
Table 1 (MVTec AD, 15 classes) and Table 2 (MNIST, digits 0-9): study `layers`, metric `image_auroc`;
rows are settings:
    "TheLast"  -> `last_layer`      (distil only the last critical layer)
    "TheLast2" -> `last_2_layers`   (the last two critical layers)
    "TheLast4" -> `all_4_layers`    (all four critical layers: the paper's default)
Table 3 (MVTec AD) and Table 4 (CIFAR-10): metric `image_auroc`; five rows, in two studies:
    "EqualNet" / "Equal Net"     -> study `cloner`, setting `equal`    (cloner as wide as VGG16)
    "SmallerNet" / "Smaller Net" -> study `cloner`, setting `compact`  (the paper's default 16-channel cloner)
    "Dir Loss"                   -> study `loss`,   setting `direction_only`  (L_dir alone)
    "MSE Loss"                   -> study `loss`,   setting `value_only`      (L_val, the MSE, alone)
    "Total Loss"                 -> study `loss`,   setting `total`           (L_total = L_val + lambda L_dir)
  The paper prints the cloner study and the loss study as *separate rows* (the tables are rows x classes, not columns),
  so every printed row is written once, under its own study; no row had to be duplicated across studies. The tables
  do not say which cloner the loss rows use; "Total Loss" equals "SmallerNet"/"Smaller Net" class for class (except
  MVTec leather: 95.0 vs 95.1, presumably two roundings of 95.05), so the loss study is the compact cloner's, and the
  settings carry no `compact:` prefix. Conversely "SmallerNet" is presumably trained with L_total.
Table 5 (MVTec AD): study `localization`, metric `paper_pixel_auroc` (the paper's own pixel-AUROC protocol, not
the MVTec standard); columns are settings:
    "Gradients + Gaussian" -> `gradients+gaussian`, "Gradients" -> `gradients`,
    "SmoothGrad + Gaussian" -> `smoothgrad+gaussian`, "SmoothGrad" -> `smoothgrad`,
    "GBP + Gaussian" -> `gbp+gaussian`, "GBP" -> `gbp`  (GBP = guided backpropagation; "+ Gaussian": sigma-4 filter).
Classes: the printed name lower-cased, spaces -> underscores ("Metal nut" -> `metal_nut`; MNIST `0`..`9`), except
CIFAR-10's "Car", written `automobile` (CIFAR-10's own class name, as torchvision spells it), so that the CSV joins
with measured results; the other CIFAR-10 headers already are CIFAR-10's names.

Tolerance
---------
The brief's rule, "0.01 + half a unit of the mean's last printed digit", is too tight for the MVTec tables, whose
per-class numbers are printed with one decimal: the mean of numbers rounded to 0.1 can drift from the mean of the
unrounded numbers by up to 0.05. E.g. Table 3 "SmallerNet" prints 87.74 while its one-decimal numbers average 87.76:
the main paper (not in shared/) prints this model per class with two decimals which, as far as we recall them,
average 87.742 and round up to these one-decimal ones (79.25 -> 79.3, 95.05 -> 95.1, 85.55 -> 85.6, ...): the +0.02
is rounding drift, not a typo. So the tolerance used is the exact worst case of the two roundings:
    tol = 0.5 * 10**-d_mean + mean over classes of (0.5 * 10**-d_class)
where d_mean is the number of decimals of the printed mean and d_class that of each printed per-class number (a
trailing zero dropped by the paper, "96.6" for 96.60, only loosens the bound). With two-decimal numbers and mean
that is 0.01 (a bit stricter than the brief's 0.015); with one-decimal numbers and a two-decimal mean, 0.055; with
both one-decimal ("88.8"), 0.1. A difference beyond it cannot be rounding. Means are recomputed exactly (Decimal).
Under the brief's rule Table 1 "TheLast4" and Table 3 "SmallerNet" (both +0.020) would fail; under this one they
pass, and only Table 1 "TheLast2" fails (see below).

Known discrepancies of the paper
--------------------------------
`KNOWN_DISCREPANCIES` lists (table, study, setting) whose printed mean is off beyond tolerance, with the reason; the
check passes for those exact keys only if the difference is the recorded one (to 1e-6). The transcription is never
altered to hide them. Discrepancies that a mean cannot reveal are listed in `NOTES` and printed (not failures).
"""
import argparse, sys
from decimal import Decimal
from pathlib import Path

import pandas as pd

COLUMNS = ["table", "study", "dataset", "class", "setting", "metric", "value"]
N_CLASSES = {"mvtec": 15, "mnist": 10, "cifar10": 10}
DATASET = {1: "mvtec", 2: "mnist", 3: "mvtec", 4: "cifar10", 5: "mvtec"}
METRIC = {1: "image_auroc", 2: "image_auroc", 3: "image_auroc", 4: "image_auroc", 5: "paper_pixel_auroc"}

# The paper's printed means, typed from supplementary.md separately from the per-class numbers (as strings, so that
# the number of printed decimals sets the tolerance). Bold in the paper: T1 all_4_layers, T2 all_4_layers, T3 compact.
PRINTED_MEANS_TEXT = {
    (1, "layers", "last_layer"): "79.22",
    (1, "layers", "last_2_layers"): "83.02",
    (1, "layers", "all_4_layers"): "87.74",
    (2, "layers", "last_layer"): "95.33",
    (2, "layers", "last_2_layers"): "97.74",
    (2, "layers", "all_4_layers"): "98.71",
    (3, "cloner", "equal"): "85.58",
    (3, "cloner", "compact"): "87.74",
    (3, "loss", "direction_only"): "83.74",
    (3, "loss", "value_only"): "88.8",
    (3, "loss", "total"): "87.74",
    (4, "cloner", "equal"): "86.87",
    (4, "cloner", "compact"): "87.18",
    (4, "loss", "direction_only"): "87.48",
    (4, "loss", "value_only"): "70.16",
    (4, "loss", "total"): "87.2",
    (5, "localization", "gradients+gaussian"): "90.71",
    (5, "localization", "gradients"): "86.16",
    (5, "localization", "smoothgrad+gaussian"): "90.54",
    (5, "localization", "smoothgrad"): "86.97",
    (5, "localization", "gbp+gaussian"): "90.08",
    (5, "localization", "gbp"): "84.38",
}

# (table, study, setting) -> (recomputed - printed, as a string, exact; reason). The check accepts exactly these.
KNOWN_DISCREPANCIES = {
    (1, "layers", "last_2_layers"): (
        "0.066",
        "Table 1 'TheLast2' (MVTec) prints mean 83.02, but its 15 numbers average 83.086 (sum 1246.29; 83.02 x 15 = "
        "1245.30): +0.066, beyond the 0.052 that rounding allows, i.e. the printed numbers sum to about 1 point more "
        "than the printed mean implies: a per-class typo of about +1 (which one cannot be told; the row's lone "
        "two-decimal number, 'Cable' 89.19, is also the 4-layer model's Cable, 89.2 in Table 3) or a stale mean.",
    ),
}

# Inconsistencies of the paper that the means do not reveal (reported, not failures).
NOTES = [
    "Table 1, row 'TheLast4' (all_4_layers, MVTec): its 15 numbers are exactly Table 3's 'SmallerNet' numbers "
    "(mean 87.74 in both; all 15 distinct), but permuted: read against Table 3 they run Bottle, Hazelnut, Capsule, "
    "Metal nut, Leather, Pill, Wood, Carpet, Tile, Grid, Cable, Transistor, Toothbrush, Screw, Zipper (the column "
    "order of the main paper's MVTec table, as far as we recall it; the main paper is not in shared/) while printed "
    "under Table 1's alphabetical headers (e.g. 'Cable' 98.4 is Table 3's Hazelnut, 'Grid' 95.1 is Table 3's Leather). "
    "Transcribed as printed, so per-class all_4_layers numbers of Table 1 other than bottle, capsule and zipper are "
    "most likely under the wrong class. Whether rows 'TheLast'/'TheLast2' share the mix-up cannot be told.",
    "Table 3, 'Total Loss' vs 'SmallerNet' (MVTec): identical except leather 95.0 vs 95.1 (same mean 87.74).",
    "Table 4, 'Total Loss' vs 'Smaller Net' (CIFAR-10): identical per class; means printed 87.2 vs 87.18.",
    "Table 4 (CIFAR-10): 'Dir Loss' (87.48) beats 'Total Loss' (87.2), although the text says L_total is the "
    "robust choice (it is, across both datasets: L_dir alone fails on MVTec, 83.74).",
]


def printed_means():
    "The means printed in the paper: {(table, study, setting): value in percent}."
    return {k: float(v) for k, v in PRINTED_MEANS_TEXT.items()}


def half_unit(text):
    "Half a unit of the last printed digit of the number `text` (Decimal)."
    return Decimal(5).scaleb(Decimal(text).as_tuple().exponent - 1)


def tolerance(mean_text, class_texts):
    "Worst-case |mean of printed per-class numbers - printed mean| from rounding both for print (Decimal)."
    return half_unit(mean_text) + sum(map(half_unit, class_texts)) / len(class_texts)


def check(df):
    "Returns (report DataFrame, list of failure messages)."
    fails = []
    if list(df.columns) != COLUMNS:
        fails.append(f"columns {list(df.columns)} != {COLUMNS}")
        return None, fails
    dup = df.duplicated(["table", "study", "dataset", "class", "setting", "metric"])
    if dup.any():
        fails.append(f"{dup.sum()} duplicated keys:\n{df[dup]}")
    for t, g in df.groupby("table"):
        if set(g.dataset) != {DATASET[t]} or set(g.metric) != {METRIC[t]}:
            fails.append(f"table {t}: datasets {set(g.dataset)}, metrics {set(g.metric)}")
    keys = set(map(tuple, df[["table", "study", "setting"]].drop_duplicates().values.tolist()))
    printed = printed_means()
    for k in sorted(keys ^ set(printed)):
        fails.append(f"{k}: in {'CSV only' if k in keys else 'printed means only'}")
    # the same class set for every setting of a dataset
    classes = df.groupby("dataset")["class"].apply(lambda s: sorted(set(s)))
    rows = []
    for (t, study, setting), g in df.groupby(["table", "study", "setting"], sort=False):
        n, want = len(g), N_CLASSES[g.dataset.iloc[0]]
        if n != want or g["class"].nunique() != want or sorted(g["class"]) != classes[g.dataset.iloc[0]]:
            fails.append(f"{(t, study, setting)}: {n} rows, {g['class'].nunique()} classes, want {want}")
        mean = sum(map(Decimal, g.value)) / n
        key = (t, study, setting)
        if key not in printed:
            continue
        diff = mean - Decimal(PRINTED_MEANS_TEXT[key])
        tol = tolerance(PRINTED_MEANS_TEXT[key], list(g.value))
        status = "ok"
        if key in KNOWN_DISCREPANCIES:
            known = Decimal(KNOWN_DISCREPANCIES[key][0])
            status = "KNOWN" if abs(diff - known) < Decimal("1e-6") else "FAIL (known discrepancy changed)"
        elif abs(diff) > tol:
            status = "FAIL"
        if status.startswith("FAIL"):
            fails.append(f"{key}: recomputed {mean:.4f} vs printed {PRINTED_MEANS_TEXT[key]} (diff {diff:+.4f})")
        rows.append(dict(table=t, study=study, setting=setting, dataset=g.dataset.iloc[0], n=n,
                         recomputed=f"{mean:.4f}", printed=PRINTED_MEANS_TEXT[key], abs_diff=f"{abs(diff):.4f}",
                         tol=f"{tol:.4f}", status=status))
    for k in KNOWN_DISCREPANCIES:
        if k not in printed:
            fails.append(f"KNOWN_DISCREPANCIES key {k} is not a printed mean")
    return pd.DataFrame(rows), fails


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", default=str(Path(__file__).resolve().parents[1] / "data" / "paper_results.csv"))
    a = p.parse_args(argv)
    df = pd.read_csv(a.csv, dtype={"class": str, "value": str})
    report, fails = check(df)
    print(f"{a.csv}: {len(df)} rows")
    if report is not None:
        with pd.option_context("display.width", 200, "display.max_rows", 100):
            print(report.to_string(index=False))
    for k, (d, why) in KNOWN_DISCREPANCIES.items():
        print(f"known discrepancy {k}: recomputed - printed = {d}: {why}")
    print("\nNotes on the paper (not failures):")
    for n in NOTES:
        print(" -", n)
    if fails:
        print("\nFAILED:")
        for f in fails:
            print(" -", f)
        return 1
    print(f"\nOK: every printed mean matches its per-class numbers within rounding tolerance, except the "
          f"known discrepancies listed ({len(KNOWN_DISCREPANCIES)}), each exactly as recorded; class counts are right.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
