"""Leave-one-building-out check of training with synthetic anomalies in unlabelled BDG2 meters.

    python models/anomaly/experiment_synthetic.py LEAD_FEATURES.csv SYNTH_FEATURES.csv... \
        --variant lead|mix:W|pretrain:T [--write-lobo DIR]

The feature files come from export-features.ts (LEAD's train.csv; synth.py's files). For each
labelled building B: train without B's labels (synthetic rows are always in, never scored),
choose the threshold as train.py does (F1-best on nested LOBO predictions of the other labelled
buildings) and score B. Variants:
  lead        train.py's recipe (LEAD labels only): reproduces the committed lobo figures
  mix:W       LEAD labels + synthetic rows with sample weight W
  pretrain:T  T trees on synthetic rows only, then train.py's trees on LEAD labels on top
Prints per building ROC-AUC, PR-AUC and F1 at the shifted 0.5, their mean and the pooled
figures of the shifted scores (as `eaio eval anomalies --lobo` pools them). --write-lobo writes
the fold models as ONNX, so `eaio eval anomalies --lobo DIR` can confirm the figures.
"""

import argparse
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
import train  # noqa: E402

EPS = train.EPS


def read_synthetic(paths: list[str]) -> pd.DataFrame:
    frames = []
    for k, path in enumerate(paths):
        frame = pd.read_csv(path, dtype={"building_id": str})
        frame["building_id"] = f"synthetic{k}:" + frame["building_id"]
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    # Zero and frozen readings the meters had before injection are unlabelled, not known normal.
    natural = (frame["anomaly"] == 0) & ((frame["is_zero"] == 1) | (frame["repeat_run"] >= np.log(3) - EPS))
    return frame[~natural].reset_index(drop=True)


def recipe(variant: str, synthetic: pd.DataFrame):
    kind, _, arg = variant.partition(":")
    x = lambda f: f[train.MODEL_COLUMNS].to_numpy(np.float32)  # noqa: E731
    if kind == "lead":
        return train.fit
    if kind == "mix":
        weight = float(arg)

        def fit_mix(labelled: pd.DataFrame) -> lgb.LGBMClassifier:
            frame = pd.concat([labelled, synthetic], ignore_index=True)
            w = np.where(frame["building_id"].str.startswith("synthetic"), weight, 1.0)
            return lgb.LGBMClassifier(**train.PARAMS).fit(x(frame), frame["anomaly"].to_numpy(), sample_weight=w)

        return fit_mix
    if kind == "pretrain":
        base = lgb.LGBMClassifier(**dict(train.PARAMS, n_estimators=int(arg)))
        base.fit(x(synthetic), synthetic["anomaly"].to_numpy())

        def fit_pretrained(labelled: pd.DataFrame) -> lgb.LGBMClassifier:
            model = lgb.LGBMClassifier(**train.PARAMS)
            return model.fit(x(labelled), labelled["anomaly"].to_numpy(), init_model=base.booster_)

        return fit_pretrained
    raise SystemExit(f"experiment: unknown variant {variant!r}; use lead, mix:W or pretrain:T")


def shifted(scores: np.ndarray, threshold: float) -> np.ndarray:
    p = np.clip(scores, EPS, 1 - EPS)
    t = float(np.clip(threshold, EPS, 1 - EPS))
    return 1 / (1 + np.exp(-(np.log(p / (1 - p)) - np.log(t / (1 - t)))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lead_features")
    parser.add_argument("synthetic_features", nargs="*")
    parser.add_argument("--variant", default="lead")
    parser.add_argument("--write-lobo", type=Path)
    args = parser.parse_args()
    lead = pd.read_csv(args.lead_features, dtype={"building_id": str})
    feature_names = [c for c in lead.columns if c not in train.META_COLUMNS]
    synthetic = read_synthetic(args.synthetic_features) if args.synthetic_features else lead.iloc[:0]
    fit = recipe(args.variant, synthetic)
    predict = train.predict
    if args.write_lobo:
        args.write_lobo.mkdir(parents=True, exist_ok=True)

    rows, pooled_scores, pooled_labels = [], [], []
    for building in sorted(lead["building_id"].unique()):
        held = (lead["building_id"] == building).to_numpy()
        labelled = lead[~held].reset_index(drop=True)
        nested = np.zeros(len(labelled))
        for other in labelled["building_id"].unique():
            inner = (labelled["building_id"] == other).to_numpy()
            nested[inner] = predict(fit(labelled[~inner]), labelled[inner])
        threshold = train.best_f1_threshold(labelled["anomaly"].to_numpy(), nested)
        model = fit(labelled)
        scores = predict(model, lead[held])
        labels = lead.loc[held, "anomaly"].to_numpy()
        flags = shifted(scores, threshold) >= 0.5
        f1 = 2 * int((flags & (labels == 1)).sum()) / max(int(flags.sum() + labels.sum()), 1)
        rows.append((building, roc_auc_score(labels, scores), average_precision_score(labels, scores), f1))
        pooled_scores.append(shifted(scores, threshold))
        pooled_labels.append(labels)
        print(f"experiment: {args.variant}: fold {building} done", file=sys.stderr, flush=True)
        if args.write_lobo:
            doc = f"EAIO anomaly experiment {args.variant}: trained without building {building}'s labels"
            onnx.save(train.to_onnx(model, feature_names, threshold, doc), args.write_lobo / f"{building}.onnx")

    scores, labels = np.concatenate(pooled_scores), np.concatenate(pooled_labels)
    print(f"variant {args.variant}")
    for building, roc, pr, f1 in rows:
        print(f"  {building:8s} roc_auc={roc:.4f} pr_auc={pr:.4f} f1={f1:.4f}")
    print(f"  mean roc_auc={np.mean([r[1] for r in rows]):.4f}  pooled roc_auc={roc_auc_score(labels, scores):.4f} "
          f"pr_auc={average_precision_score(labels, scores):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
