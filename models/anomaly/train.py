"""Trains the anomaly model from the feature matrix that export-features.ts writes.

    python models/anomaly/train.py FEATURES.csv OUT_DIR

Writes OUT_DIR/anomaly.onnx (trained on every labelled building), OUT_DIR/lobo/<building>.onnx
(one per building, trained without that building's labels: leave-one-building-out) and
OUT_DIR/train-report.json. Features are never computed here: the columns come from the
TypeScript feature code, so training and serving cannot drift apart.

Every model's score is shifted (in logit space, a monotone change that keeps every ranking) so
that 0.5 is the threshold chosen without the scored building's labels: the F1-best threshold on
leave-one-building-out predictions of the buildings it was trained on.
"""

import json
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

# The model's columns, a subset of FEATURE_NAMES: scale-free deviations, runs, gaps, history and
# calendar. Weather and static attributes (area, use) are left out: with four labelled buildings
# they identify buildings rather than anomalies.
MODEL_COLUMNS = [
    "dev_week", "dev_daytype", "dev_day", "z_daytype", "z_day", "ratio_level", "dev_prev",
    "dev_daytype_6h", "repeat_run", "zero_run", "is_zero", "gap_hours", "missing_24h",
    "confidence", "hour_sin", "hour_cos", "is_weekend",
]  # fmt: skip
META_COLUMNS = ["building_id", "time", "value", "anomaly", "expected"]
PARAMS = dict(
    n_estimators=100, num_leaves=7, learning_rate=0.05, min_child_samples=200, subsample=0.8,
    subsample_freq=1, colsample_bytree=0.8, random_state=0, verbose=-1, n_jobs=2,
)  # fmt: skip
OPSET = 15
EPS = 1e-6


def fit(frame: pd.DataFrame) -> lgb.LGBMClassifier:
    model = lgb.LGBMClassifier(**PARAMS)
    model.fit(frame[MODEL_COLUMNS].to_numpy(np.float32), frame["anomaly"].to_numpy())
    return model


def predict(model: lgb.LGBMClassifier, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame[MODEL_COLUMNS].to_numpy(np.float32))[:, 1]


def out_of_building(frame: pd.DataFrame) -> np.ndarray:
    """Each building's predictions from a model trained on the others."""
    scores = np.zeros(len(frame))
    for building in frame["building_id"].unique():
        held = (frame["building_id"] == building).to_numpy()
        scores[held] = predict(fit(frame[~held]), frame[held])
    return scores


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, EPS)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def to_onnx(model: lgb.LGBMClassifier, feature_names: list[str], threshold: float, doc: str) -> onnx.ModelProto:
    """features float32[N, len(FEATURE_NAMES)] → score float32[N, 1], 0.5 at `threshold`."""
    inner = convert_lightgbm(
        model, initial_types=[("eaio_model_input", FloatTensorType([None, len(MODEL_COLUMNS)]))],
        zipmap=False, target_opset=OPSET,
    )  # fmt: skip
    graph = inner.graph
    prob = next(o.name for o in graph.output if o.name != "label")
    t = float(np.clip(threshold, EPS, 1 - EPS))
    shift = -np.log(t / (1 - t))
    consts = [
        numpy_helper.from_array(np.array([feature_names.index(c) for c in MODEL_COLUMNS], np.int64), "eaio_columns"),
        numpy_helper.from_array(np.array([1], np.int64), "eaio_positive"),
        numpy_helper.from_array(np.array(EPS, np.float32), "eaio_eps"),
        numpy_helper.from_array(np.array(1 - EPS, np.float32), "eaio_one_minus_eps"),
        numpy_helper.from_array(np.array(1, np.float32), "eaio_one"),
        numpy_helper.from_array(np.array(shift, np.float32), "eaio_shift"),
    ]
    head = [helper.make_node("Gather", ["features", "eaio_columns"], ["eaio_model_input"], axis=1)]
    tail = [
        helper.make_node("Gather", [prob, "eaio_positive"], ["eaio_p"], axis=1),
        helper.make_node("Clip", ["eaio_p", "eaio_eps", "eaio_one_minus_eps"], ["eaio_pc"]),
        helper.make_node("Sub", ["eaio_one", "eaio_pc"], ["eaio_q"]),
        helper.make_node("Log", ["eaio_pc"], ["eaio_log_p"]),
        helper.make_node("Log", ["eaio_q"], ["eaio_log_q"]),
        helper.make_node("Sub", ["eaio_log_p", "eaio_log_q"], ["eaio_logit"]),
        helper.make_node("Add", ["eaio_logit", "eaio_shift"], ["eaio_shifted"]),
        helper.make_node("Sigmoid", ["eaio_shifted"], ["score"]),
    ]
    new_graph = helper.make_graph(
        head + list(graph.node) + tail,
        "eaio_anomaly",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(feature_names)])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        initializer=list(graph.initializer) + consts,
    )
    opsets = [o for o in inner.opset_import if o.domain not in ("", "ai.onnx")] + [helper.make_opsetid("", OPSET)]
    out = helper.make_model(new_graph, opset_imports=opsets, producer_name="eaio-anomaly-train")
    out.ir_version = 8
    out.doc_string = doc
    onnx.checker.check_model(out, full_check=True)
    return out


def main() -> None:
    features_csv, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    frame = pd.read_csv(features_csv, dtype={"building_id": str})
    feature_names = [c for c in frame.columns if c not in META_COLUMNS]
    buildings = sorted(frame["building_id"].unique())
    (out_dir / "lobo").mkdir(parents=True, exist_ok=True)
    report: dict = {"model_columns": MODEL_COLUMNS, "params": PARAMS, "folds": {}}

    for building in buildings:
        held = (frame["building_id"] == building).to_numpy()
        train = frame[~held].reset_index(drop=True)
        threshold = best_f1_threshold(train["anomaly"].to_numpy(), out_of_building(train))
        model = fit(train)
        scores = predict(model, frame[held])
        labels = frame.loc[held, "anomaly"].to_numpy()
        fold = {
            "threshold": threshold,
            "roc_auc": roc_auc_score(labels, scores),
            "pr_auc": average_precision_score(labels, scores),
        }
        report["folds"][building] = fold
        doc = f"EAIO anomaly model, leave-one-building-out fold: trained without building {building}'s labels"
        onnx.save(to_onnx(model, feature_names, threshold, doc), out_dir / "lobo" / f"{building}.onnx")
        print(f"train: fold {building}: roc_auc={fold['roc_auc']:.4f} pr_auc={fold['pr_auc']:.4f} "
              f"threshold={threshold:.4f}", file=sys.stderr)  # fmt: skip

    threshold = best_f1_threshold(frame["anomaly"].to_numpy(), out_of_building(frame))
    doc = f"EAIO anomaly model: LightGBM on buildings {', '.join(buildings)}; score 0.5 = F1-best LOBO threshold"
    onnx.save(to_onnx(fit(frame), feature_names, threshold, doc), out_dir / "anomaly.onnx")
    report["threshold"] = threshold
    (out_dir / "train-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"train: wrote {out_dir / 'anomaly.onnx'} (threshold {threshold:.4f} → 0.5)", file=sys.stderr)


if __name__ == "__main__":
    main()
