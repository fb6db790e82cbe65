"""TensorFlow reads bundles kiln wrote: names, dtypes, shapes and values equal to what TF wrote.

usage: tf_read.py EXPECTED_JSON TF_PREFIX KILN_PREFIX

Opens KILN_PREFIX with tf.train.load_checkpoint and compares it with expected[TF_PREFIX] (the
values TF itself wrote; tf_write.py). Exit 1 listing every mismatch.
"""
import base64
import json
import sys

import numpy as np
import tensorflow as tf


def main():
    expected_path, tf_prefix, kiln_prefix = sys.argv[1:4]
    with open(expected_path) as f:
        expected = json.load(f)[tf_prefix]
    reader = tf.train.load_checkpoint(kiln_prefix)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    problems = []
    if set(shapes) != set(expected):
        problems.append("names differ: missing %s, extra %s" % (
            sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))))
    for name in sorted(set(shapes) & set(expected)):
        e = expected[name]
        dtype = "string" if dtypes[name] == tf.string else dtypes[name].name
        if dtype != e["dtype"] or list(shapes[name]) != e["shape"]:
            problems.append("%s: TF reads %s %s, expected %s %s" % (
                name, dtype, list(shapes[name]), e["dtype"], e["shape"]))
            continue
        value = reader.get_tensor(name)
        value = np.array(value, dtype=object) if isinstance(value, bytes) else np.asarray(value)
        if "strings" in e:
            ok = [bytes(s) for s in value.reshape(-1)] == [base64.b64decode(s) for s in e["strings"]]
        else:
            ok = value.astype(value.dtype.newbyteorder("<")).tobytes() == base64.b64decode(e["bytes"])
        if not ok:
            problems.append("%s: values differ" % name)
    for p in problems:
        print("MISMATCH %s: %s" % (kiln_prefix, p))
    if problems:
        sys.exit(1)
    print("ok: TF reads %s exactly (%d tensors)" % (kiln_prefix, len(expected)))


if __name__ == "__main__":
    main()
