"""MetaGraphDef interop with real TensorFlow (tf.compat.v1 graph mode), both ways.

usage:
  tf_meta.py read_kiln META CKPT KILN_JSON
      TF imports kiln's .meta (import_meta_graph), restores kiln's checkpoint through the imported
      SaverDef, and every global variable must equal kiln's values (KILN_JSON: the output of
      `kiln inspect --json --all-tensors CKPT`, bit for bit). TF then saves through the same
      SaverDef and reads that back equal too.
  tf_meta.py write_tf DIR
      A TF1 program: y = x @ w + b, global_step, Saver(max_to_keep=2, sharded=True) with the
      variables over 3 logical CPUs, saves at steps 10, 20, 30 (values change between saves).
      Writes DIR/expected.json: latest checkpoint, x, y, the variables at step 30.
  tf_meta.py check_continued DIR
      After kiln continued DIR (imported model-30.meta, restored, added 1 to every float
      variable, saved step 40 with max_to_keep from the SaverDef): TF's latest_checkpoint is
      model-40, the state file lists [model-30, model-40], model-20's files are gone, and TF
      restores model-40 through its .meta with the values of step 30 plus one.
Exit status 1 with every mismatch listed.
"""
import json
import os
import sys

import numpy as np
import tensorflow as tf

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 3)

v1 = tf.compat.v1
v1.disable_eager_execution()

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def finish(label):
    if errors:
        for e in errors:
            print("FAIL:", e)
        sys.exit(1)
    print("ok:", label)


def kiln_values(path):
    with open(path) as f:
        tensors = json.load(f)["tensors"]
    out = {}
    for t in tensors:
        vals = [float(v) if isinstance(v, str) else v for v in t["values"]]
        out[t["name"]] = np.array(vals, dtype=t["dtype"]).reshape(t["shape"])
    return out


def read_kiln(meta, ckpt, kiln_json):
    expected = kiln_values(kiln_json)
    g = tf.Graph()
    with g.as_default():
        saver = v1.train.import_meta_graph(meta)
        check(saver is not None, "import_meta_graph returned no Saver for " + meta)
        with v1.Session(graph=g) as sess:
            saver.restore(sess, ckpt)
            names = sorted(v.op.name for v in v1.global_variables())
            check(names == sorted(expected), "variables %s != checkpoint keys %s" % (names, sorted(expected)))
            for v in v1.global_variables():
                got = sess.run(v)
                want = expected.get(v.op.name)
                check(want is not None and got.dtype == want.dtype and got.shape == want.shape
                      and got.tobytes() == want.tobytes(), "variable %s differs from kiln's" % v.op.name)
            out_dir = os.path.join(os.path.dirname(ckpt), "tf_resaved")
            os.makedirs(out_dir, exist_ok=True)
            path = saver.save(sess, os.path.join(out_dir, "model"), global_step=3)
            reader = v1.train.NewCheckpointReader(path)
            for name, want in expected.items():
                check(reader.get_tensor(name).tobytes() == want.tobytes(),
                      "TF's re-save through kiln's SaverDef changed %s" % name)
    finish("TF imported %s and restored %s" % (meta, ckpt))


def write_tf(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        with tf.device("/device:CPU:0"):
            w = v1.Variable(rng.standard_normal((2, 3)).astype(np.float32), name="w")
        with tf.device("/device:CPU:1"):
            b = v1.Variable(rng.standard_normal(3).astype(np.float32), name="b")
        with tf.device("/device:CPU:2"):
            step = v1.train.get_or_create_global_step()
        y = tf.add(tf.matmul(x, w), b, name="y")
        bump = tf.group(v1.assign_add(w, tf.ones_like(w)), v1.assign_add(b, tf.ones_like(b)),
                        v1.assign_add(step, 10))
        saver = v1.train.Saver(max_to_keep=2, sharded=True)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            for _ in range(3):
                sess.run(bump)
                path = saver.save(sess, os.path.join(d, "model"), global_step=step)
            xv = np.array([[1, 2], [3, 4]], dtype=np.float32)
            expected = {
                "latest": path,
                "x": xv.tolist(),
                "y": sess.run(y, {x: xv}).tolist(),
                "vars": {"w": sess.run(w).tolist(), "b": sess.run(b).tolist(),
                         "global_step": int(sess.run(step))},
            }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(path)


def check_continued(d):
    with open(os.path.join(d, "expected.json")) as f:
        expected = json.load(f)
    latest = v1.train.latest_checkpoint(d)
    check(latest is not None and latest.endswith("model-40"), "latest_checkpoint is %s" % latest)
    state = v1.train.get_checkpoint_state(d)
    paths = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
    check(paths == ["model-30", "model-40"], "state file lists %s" % paths)
    left = sorted(f for f in os.listdir(d) if f.startswith("model-20") or f.startswith("model-10"))
    check(not left, "old checkpoints left behind: %s" % left)
    g = tf.Graph()
    with g.as_default():
        saver = v1.train.import_meta_graph(os.path.join(d, "model-40.meta"))
        with v1.Session(graph=g) as sess:
            saver.restore(sess, latest)
            variables = {v.op.name: v for v in v1.global_variables()}
            for name in ("w", "b"):
                got = sess.run(variables[name])
                want = np.array(expected["vars"][name], dtype=np.float32) + 1
                check(np.array_equal(got, want), "%s after kiln's step: %s != %s" % (name, got, want))
            step = int(sess.run(variables["global_step"]))
            check(step == 40, "global_step is %d, not 40" % step)
    finish("kiln continued TF's checkpoint directory %s" % d)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "read_kiln":
        read_kiln(*sys.argv[2:5])
    elif cmd == "write_tf":
        write_tf(sys.argv[2])
    elif cmd == "check_continued":
        check_continued(sys.argv[2])
    else:
        sys.exit("unknown command " + cmd)
