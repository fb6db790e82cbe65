"""Checks that `kiln inspect --json --all-tensors PREFIX` shows exactly what TF wrote.

usage: check_kiln_json.py EXPECTED_JSON PREFIX KILN_OUTPUT_JSON

Every tensor of expected[PREFIX] must appear with the same dtype and shape, and values whose
bytes equal TF's (floats compared bit for bit: NaN, -0.0 and denormals included); no extra
tensors. Exit 1 listing every mismatch.
"""
import base64
import json
import sys

import numpy as np
import ml_dtypes

DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
          "bfloat16": ml_dtypes.bfloat16, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
          "int32": np.int32, "int64": np.int64, "bool": np.bool_}


def kiln_value_bytes(t):
    """The little-endian bytes of kiln's JSON values, or the list of string elements."""
    if t["dtype"] == "string":
        return [s.encode("utf-8") if isinstance(s, str) else base64.b64decode(s["base64"])
                for s in t["values"]]
    dtype = DTYPES[t["dtype"]]
    if t["dtype"] in ("float32", "float64", "float16", "bfloat16"):
        arr = np.array([float(v) for v in t["values"]], dtype=np.float64).astype(dtype)
    else:
        arr = np.array(t["values"], dtype=dtype)
    return arr.astype(np.dtype(dtype).newbyteorder("<")).tobytes()


def expected_value(e):
    if "strings" in e:
        return [base64.b64decode(s) for s in e["strings"]]
    return base64.b64decode(e["bytes"])


def compare(expected, got):
    problems = []
    got_by_name = {t["name"]: t for t in got["tensors"]}
    if set(got_by_name) != set(expected):
        problems.append("names differ: missing %s, extra %s" % (
            sorted(set(expected) - set(got_by_name)), sorted(set(got_by_name) - set(expected))))
    for name in sorted(set(expected) & set(got_by_name)):
        e, t = expected[name], got_by_name[name]
        if e["dtype"] != t["dtype"]:
            problems.append("%s: dtype %s, TF wrote %s" % (name, t["dtype"], e["dtype"]))
            continue
        if e["shape"] != t["shape"]:
            problems.append("%s: shape %s, TF wrote %s" % (name, t["shape"], e["shape"]))
            continue
        if "values" not in t:
            problems.append("%s: no values (%s)" % (name, t.get("unreadable", "")))
        elif kiln_value_bytes(t) != expected_value(e):
            problems.append("%s: values differ" % name)
    return problems


def main():
    expected_path, prefix, got_path = sys.argv[1:4]
    with open(expected_path) as f:
        expected = json.load(f)[prefix]
    with open(got_path) as f:
        got = json.load(f)
    problems = compare(expected, got)
    for p in problems:
        print("MISMATCH %s: %s" % (prefix, p))
    if problems:
        sys.exit(1)
    print("ok: kiln reads %s exactly (%d tensors)" % (prefix, len(expected)))


if __name__ == "__main__":
    main()
