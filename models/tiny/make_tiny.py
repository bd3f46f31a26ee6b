"""Writes linear2.onnx: a 2-feature linear regressor y = x @ W + b.

It exists so the ONNX Runtime smoke test has a model whose output is known exactly.
The weights are powers-of-two fractions, so float32 arithmetic reproduces the math
without rounding and the test can compare for equality.

Regenerate (see README.md):  python models/tiny/make_tiny.py
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, checker, helper, numpy_helper

# Keep in sync with tests/smoke/onnx.test.ts.
WEIGHTS = np.array([[0.5], [-2.0]], dtype=np.float32)
BIAS = np.array([1.25], dtype=np.float32)

# Opset 17 / IR 8 are old enough for any onnxruntime >= 1.14 to load, so the file does not
# tie the runtime version to whichever `onnx` release happened to write it.
OPSET = 17
IR_VERSION = 8

OUT = Path(__file__).with_name("linear2.onnx")


def build() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    w = numpy_helper.from_array(WEIGHTS, name="W")
    b = numpy_helper.from_array(BIAS, name="b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "linear2",
        [x],
        [y],
        initializer=[w, b],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="eaio-make_tiny",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    model.doc_string = "y = x @ [[0.5], [-2.0]] + 1.25 (EAIO ONNX Runtime smoke model)"
    checker.check_model(model, full_check=True)
    return model


def main() -> None:
    model = build()
    OUT.write_bytes(model.SerializeToString())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
