"""Fits the profile encoder from day features and writes it as ONNX.

    python train.py FEATURES.csv OUT_DIR

The encoder is linear and unsupervised (no label is read): it standardises each feature with the
training days' mean and standard deviation (unobserved weather -> the mean), weights the feature
groups (shape, level and variation, calendar, weather), lifts the result to 384 dimensions with a
fixed orthonormal matrix (seeded, so cosines between days equal those of the weighted standardised
features) and L2-normalises. Deterministic: the same CSV gives the same bytes.
"""

import csv
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIM = 384
SEED = 20170101
# Why these weights: the day's shape is what the search is about (24 dimensions at 1); the level
# per m² and the variation are one dimension each but say as much about a building's use as several
# hours; the absolute level mostly says how big the building is, and the calendar and weather say
# when the day was, not how the building behaves, so they only nudge.
GROUP_WEIGHTS = {"shape": 1.0, "log_level": 0.5, "log_intensity": 2.0, "variation": 1.5, "calendar": 0.5, "weather": 0.5}


def group_of(name):
    if name.startswith("shape_"):
        return "shape"
    if name in ("log_level", "log_intensity", "variation"):
        return name
    if name in ("dow_sin", "dow_cos", "weekend", "doy_sin", "doy_cos"):
        return "calendar"
    return "weather"


def main(features_path, out_dir, weights_json=None):
    if weights_json:
        GROUP_WEIGHTS.update(json.loads(weights_json))
    with open(features_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        names = header[2:]
        rows = [[float(x) if x != "" else np.nan for x in r[2:]] for r in reader]
    x = np.asarray(rows, dtype=np.float64)
    mu = np.nanmean(x, axis=0)
    sd = np.nanstd(x, axis=0)
    sd[~(sd > 1e-6)] = 1.0
    # One spread for all 24 hours: dividing each hour by its own spread would stretch the quiet
    # night hours as much as the working day and lose the shape's proportions.
    shape = np.array([group_of(n) == "shape" for n in names])
    sd[shape] = np.sqrt(np.mean(sd[shape] ** 2))
    weights = np.array([GROUP_WEIGHTS[group_of(n)] for n in names])

    rng = np.random.default_rng(SEED)
    q, r = np.linalg.qr(rng.standard_normal((DIM, len(names))))
    q = q * np.sign(np.diag(r))  # unique QR: the same seed gives the same matrix everywhere
    lift = (q.T * 1.0).astype(np.float32)  # [F, DIM], orthonormal rows

    f = len(names)
    scale = (weights / sd).astype(np.float32)
    nodes = [
        helper.make_node("IsNaN", ["features"], ["missing"]),
        helper.make_node("Where", ["missing", "mu", "features"], ["filled"]),
        helper.make_node("Sub", ["filled", "mu"], ["centred"]),
        helper.make_node("Mul", ["centred", "scale"], ["weighted"]),
        helper.make_node("MatMul", ["weighted", "lift"], ["lifted"]),
        helper.make_node("LpNormalization", ["lifted"], ["embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes,
        "profile_encoder",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", f])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIM])],
        initializer=[
            numpy_helper.from_array(mu.astype(np.float32), "mu"),
            numpy_helper.from_array(scale, "scale"),
            numpy_helper.from_array(lift, "lift"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="eaio-profile")
    model.ir_version = 8
    model.doc_string = "EAIO profile encoder: day features (models/profile/MODEL_CARD.md) -> 384-d L2-normalised"
    for key, value in {"feature_names": ",".join(names), "dim": str(DIM)}.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(model)
    onnx.save(model, f"{out_dir}/profile.onnx")

    import onnxruntime as ort

    sess = ort.InferenceSession(f"{out_dir}/profile.onnx", providers=["CPUExecutionProvider"])
    emb = sess.run(None, {"features": x.astype(np.float32)})[0]
    norms = np.linalg.norm(emb, axis=1)
    report = {
        "days": int(x.shape[0]),
        "meters": len({r for r in open(features_path).read().splitlines()[1:] for r in [r.split(",")[0]]}),
        "features": names,
        "group_weights": GROUP_WEIGHTS,
        "mean": [round(float(v), 6) for v in mu],
        "std": [round(float(v), 6) for v in sd],
        "output_dim": DIM,
        "norm_min": round(float(norms.min()), 6),
        "norm_max": round(float(norms.max()), 6),
        "seed": SEED,
    }
    with open(f"{out_dir}/train-report.json", "w") as out:
        json.dump(report, out, indent=1)
        out.write("\n")
    print(f"train: {x.shape[0]} days x {f} features -> {out_dir}/profile.onnx (norms {norms.min():.6f}..{norms.max():.6f})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
