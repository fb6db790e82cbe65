"""TensorFlow writes the checkpoints kiln must read, and records what they hold.

usage: tf_write.py WORKDIR

Writes under WORKDIR/tf/ (each a checkpoint prefix):
  dtypes     tf.compat.v1 Saver (V2): every dtype kiln has (incl. strings), scalars, a zero-size
             tensor, NaN/inf/-0.0/denormals, a string over 64 KiB, non-UTF-8 bytes, and names
             with '/', ':', spaces, UTF-8 and names that are prefixes of each other
  sharded    tf.compat.v1 Saver(sharded=True) over 3 logical CPU devices (3 data files) plus a
             variable partitioned in 3 by fixed_size_partitioner (stored as slices)
  v1         the same kind of graph saved as a V1 checkpoint (write_version=V1), sharded
  object     TF2 tf.train.Checkpoint (object graph string + variables)
and WORKDIR/expected.json: {prefix: {name: {"dtype","shape","bytes"|"strings"}}} where "bytes" is
base64 of the little-endian values and "strings" base64 of each string element.
"""
import base64
import json
import os
import sys

import numpy as np
import tensorflow as tf

# Three logical CPUs, before TensorFlow initializes its devices.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 3)

import ml_dtypes  # noqa: E402  (installed with TensorFlow)

RNG = np.random.default_rng(1234)
v1 = tf.compat.v1


def record(value):
    if isinstance(value, bytes):  # TF returns a string scalar as bytes
        value = np.array(value, dtype=object)
    arr = np.asarray(value)
    entry = {"dtype": arr.dtype.name if arr.dtype != object else "string",
             "shape": list(arr.shape)}
    if arr.dtype == object:
        entry["strings"] = [base64.b64encode(bytes(s)).decode() for s in arr.reshape(-1)]
    else:
        entry["bytes"] = base64.b64encode(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()).decode()
    return entry


def dtype_values():
    floats = np.array([0.0, -0.0, 1.0, -2.5, 0.1, np.nan, np.inf, -np.inf, 1e-40, 3.4e38, 1e-5, 123456.789])
    long_string = bytes(RNG.integers(0, 256, 70000, dtype=np.uint8))
    return {
        "f32": RNG.standard_normal((3, 4)).astype(np.float32),
        "f32_special": floats.astype(np.float32),
        "f64": np.concatenate([floats, RNG.standard_normal(5)]).astype(np.float64),
        "f16": np.concatenate([floats[:9], [65504.0, 6e-8]]).astype(np.float16),
        "bf16": RNG.standard_normal((2, 3)).astype(ml_dtypes.bfloat16),
        "i8": np.array([-128, -1, 0, 1, 127], np.int8),
        "u8": np.array([[0, 1], [254, 255]], np.uint8),
        "i16": np.array([-32768, 0, 32767], np.int16),
        "i32": RNG.integers(-2**31, 2**31, (2, 2, 3), dtype=np.int32),
        "i64": np.array([-2**63, -1, 0, 2**53 + 1, 2**63 - 1], np.int64),
        "bool": np.array([True, False, True]),
        "scalar_f32": np.float32(0.5),
        "scalar_i64": np.int64(-7),
        "scalar_bool": np.bool_(True),
        "empty_f32": np.zeros((0, 3), np.float32),
        "str": np.array([b"", b"hello", "h\u00e9llo \u4e16\u754c".encode(), b"\x00\xff\xfe", long_string],
                        dtype=object),
        "scalar_str": np.array("a string scalar".encode(), dtype=object),
        "str_2d": np.array([[b"a", b"bc"], [b"it's", b'say "hi"']], dtype=object),
    }


# Names beyond the variables' own: '/', ':', spaces, UTF-8, prefixes of each other.
ODD_NAMES = {"layer/dense": "f32", "layer/dense/kernel": "i32", "with:colon": "i8",
             "with space": "u8", "caf\u00e9/\u4e16\u754c": "f64", "a": "scalar_f32", "ab": "scalar_i64"}


def save_dtypes(prefix, expected):
    values = dtype_values()
    g = tf.Graph()
    with g.as_default():
        variables = {name: v1.Variable(value, name=name) for name, value in values.items()}
        var_list = dict(variables)
        for name, src in ODD_NAMES.items():
            var_list[name] = v1.Variable(values[src], name="odd_" + src)
        saver = v1.train.Saver(var_list)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False)
            got = sess.run(var_list)
    expected[prefix] = {name: record(value) for name, value in got.items()}


def save_sharded(prefix, expected, version):
    g = tf.Graph()
    with g.as_default():
        var_list = {}
        for i in range(3):
            with tf.device("/cpu:%d" % i):
                var_list["dev%d/w" % i] = v1.Variable(RNG.standard_normal((4, 5)).astype(np.float32),
                                                      name="dev%d/w" % i)
                var_list["dev%d/s" % i] = v1.Variable(np.array([b"shard", b"%d" % i], dtype=object),
                                                      name="dev%d/s" % i)
        with tf.device("/cpu:0"):
            part = v1.get_variable("part", shape=[10, 4], dtype=tf.float32,
                                   initializer=v1.random_normal_initializer(seed=7),
                                   partitioner=v1.fixed_size_partitioner(3))
        saveables = list(var_list.values()) + [part]
        saver = v1.train.Saver(saveables, sharded=True, write_version=version)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            path = saver.save(sess, prefix, write_meta_graph=False)
            got = sess.run(var_list)
            got["part"] = sess.run(part.as_tensor())
    expected[path] = {name: record(value) for name, value in got.items()}
    return path


def save_object(prefix, expected):
    ckpt = tf.train.Checkpoint(w=tf.Variable(np.arange(6, dtype=np.float64).reshape(2, 3)),
                               n=tf.Variable(np.int32(3)))
    path = ckpt.write(prefix)
    reader = tf.train.load_checkpoint(path)
    expected[path] = {name: record(reader.get_tensor(name))
                      for name in reader.get_variable_to_shape_map()}
    return path


def main():
    work = sys.argv[1]
    os.makedirs(os.path.join(work, "tf"), exist_ok=True)
    expected = {}
    save_dtypes(os.path.join(work, "tf", "dtypes"), expected)
    save_sharded(os.path.join(work, "tf", "sharded"), expected, v1.train.SaverDef.V2)
    save_sharded(os.path.join(work, "tf", "v1"), expected, v1.train.SaverDef.V1)
    save_object(os.path.join(work, "tf", "object"), expected)
    # Cross-check the record against TensorFlow's own reader (what TF reads back is what it wrote).
    for prefix, tensors in expected.items():
        reader = tf.train.load_checkpoint(prefix)
        names = set(reader.get_variable_to_shape_map())
        assert names == set(tensors), (prefix, names ^ set(tensors))
    with open(os.path.join(work, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    for prefix in expected:
        print(prefix)


if __name__ == "__main__":
    main()
