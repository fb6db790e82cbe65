#include "ops/gradients.h"

#include <algorithm>
#include <deque>
#include <set>

#include "ops/array_ops.h"
#include "ops/math_ops.h"
#include "ops/op_util.h"

namespace kiln {

using namespace ops_internal;

GradientRegistry& GradientRegistry::global() {
  static GradientRegistry* registry = new GradientRegistry;
  return *registry;
}

void GradientRegistry::add(const std::string& op, GradientFn fn) { fns_[op] = std::move(fn); }

void GradientRegistry::add_not_differentiable(const std::string& op) {
  fns_[op] = [](Node*, const std::vector<Output>&) { return std::vector<Output>{}; };
}

const GradientFn* GradientRegistry::find(const std::string& op) const {
  auto it = fns_.find(op);
  return it == fns_.end() ? nullptr : &it->second;
}

namespace {

// Data-edge consumers of every node of the graph.
std::map<const Node*, std::vector<Node*>> consumers_of(const Graph& g) {
  std::map<const Node*, std::vector<Node*>> out;
  for (const auto& n : g.nodes())
    for (const Output& in : n->inputs()) out[in.node].push_back(n.get());
  return out;
}

// The ops on a path from some x to some y: reachable forward from the xs and backward from the ys.
std::set<const Node*> ops_between(const Graph& g, const std::vector<Output>& ys,
                                  const std::vector<Output>& xs) {
  auto consumers = consumers_of(g);
  std::set<const Node*> forward;
  std::deque<const Node*> queue;
  for (const Output& x : xs)
    if (forward.insert(x.node).second) queue.push_back(x.node);
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    for (Node* c : consumers[n])
      if (forward.insert(c).second) queue.push_back(c);
  }
  std::set<const Node*> between;
  for (const Output& y : ys)
    if (forward.count(y.node) && between.insert(y.node).second) queue.push_back(y.node);
  while (!queue.empty()) {
    const Node* n = queue.front();
    queue.pop_front();
    for (const Output& in : n->inputs())
      if (forward.count(in.node) && between.insert(in.node).second) queue.push_back(in.node);
  }
  return between;
}

void check_args(const std::vector<Output>& ys, const std::vector<Output>& xs,
                const std::vector<Output>& grad_ys, const Graph& g) {
  if (ys.empty()) throw InvalidArgumentError("gradients: ys is empty");
  if (!grad_ys.empty() && grad_ys.size() != ys.size())
    throw InvalidArgumentError("gradients: Passed " + std::to_string(grad_ys.size()) +
                               " grad_ys for " + std::to_string(ys.size()) + " ys");
  auto check = [&](const Output& t, const char* what) {
    if (!t.valid()) throw InvalidArgumentError(std::string("gradients: an empty Output in ") + what);
    if (t.graph() != &g)
      throw InvalidArgumentError(std::string("gradients: ") + what + " tensor " + t.name() +
                                 " is not an element of this graph");
  };
  for (const Output& y : ys) check(y, "ys");
  for (const Output& x : xs) check(x, "xs");
  for (size_t i = 0; i < grad_ys.size(); ++i) {
    if (!grad_ys[i].valid()) continue;
    check(grad_ys[i], "grad_ys");
    if (grad_ys[i].dtype() != ys[i].dtype() || !grad_ys[i].shape().compatible_with(ys[i].shape()))
      throw InvalidArgumentError("gradients: grad_ys[" + std::to_string(i) + "] " + grad_ys[i].name() +
                                 " has dtype " + dtype_name(grad_ys[i].dtype()) + " and shape " +
                                 grad_ys[i].shape().to_string() + ", but y " + ys[i].name() +
                                 " has dtype " + dtype_name(ys[i].dtype()) + " and shape " +
                                 ys[i].shape().to_string());
  }
}

// TF's default seed: ones shaped like y ("gradients/Fill" from "gradients/Shape" and
// "gradients/grad_ys_N" when the shape is known at build time).
Output ones_seed(Graph& g, const Output& y, size_t i) {
  if (y.shape().fully_defined()) {
    Output dims = int_vector_const(g, y.shape().dims(), "Shape");
    Output one = scalar_const(g, y.dtype(), 1.0, "grad_ys_" + std::to_string(i));
    AttrMap a = t_attr(y.dtype());
    a.set("index_type", DType::kInt32);
    return make_node(g, "Fill", "Fill", {dims, one}, std::move(a))->output(0);
  }
  return ones_like(y, "OnesLike");
}

// The gradient contributions collected per tensor.
class Backprop {
 public:

  void contribute(const Output& t, const Output& grad) { pending_[t].push_back(grad); }

  // The total gradient of `t`: its single contribution, or their AddN; invalid when none.
  Output total(const Output& t) {
    auto done = totals_.find(t);
    if (done != totals_.end()) return done->second;
    Output sum;
    auto it = pending_.find(t);
    if (it != pending_.end() && !it->second.empty()) {
      const std::vector<Output>& parts = it->second;
      sum = parts.size() == 1 ? parts[0] : add_n(parts, "AddN");
    }
    totals_[t] = sum;
    return sum;
  }

 private:
  std::map<Output, std::vector<Output>> pending_;
  std::map<Output, Output> totals_;
};

}  // namespace

std::vector<Output> gradients(Graph& g, const std::vector<Output>& ys, const std::vector<Output>& xs,
                              const std::vector<Output>& grad_ys) {
  check_args(ys, xs, grad_ys, g);
  auto scope = g.name_scope("gradients");
  std::set<const Node*> between = ops_between(g, ys, xs);

  Backprop grads;
  for (size_t i = 0; i < ys.size(); ++i) {
    Output seed = i < grad_ys.size() && grad_ys[i].valid() ? grad_ys[i] : ones_seed(g, ys[i], i);
    grads.contribute(ys[i], seed);
  }

  // Creation order is topological for data edges: every consumer of a node was created after it,
  // so walking the ops newest first sees all of a tensor's contributions before its total is used.
  std::vector<Node*> order;
  for (const Node* n : between) order.push_back(const_cast<Node*>(n));
  std::sort(order.begin(), order.end(), [](Node* a, Node* b) { return a->id() > b->id(); });

  for (Node* op : order) {
    bool feeds_back = false;  // does any input lead back to an x?
    for (const Output& in : op->inputs())
      if (between.count(in.node) && dtype_is_floating(in.dtype())) feeds_back = true;
    if (!feeds_back) continue;
    std::vector<Output> out_grads(op->num_outputs());
    bool any = false;
    for (int i = 0; i < op->num_outputs(); ++i) {
      out_grads[i] = grads.total(op->output(i));
      any = any || out_grads[i].valid();
    }
    if (!any) continue;
    const GradientFn* fn = GradientRegistry::global().find(op->op());
    if (!fn)
      throw NotFoundError("No gradient defined for operation '" + op->name() + "' (op type: " +
                          op->op() + ")");
    std::vector<Output> in_grads;
    {
      auto op_scope = g.name_scope(op->name() + "_grad");
      for (int i = 0; i < op->num_outputs(); ++i)
        if (!out_grads[i].valid() && dtype_is_floating(op->output_type(i)))
          out_grads[i] = zeros_like(op->output(i));
      in_grads = (*fn)(op, out_grads);
    }
    const auto& inputs = op->inputs();
    for (size_t j = 0; j < in_grads.size() && j < inputs.size(); ++j) {
      if (!in_grads[j].valid() || !between.count(inputs[j].node) || !dtype_is_floating(inputs[j].dtype()))
        continue;
      if (in_grads[j].dtype() != inputs[j].dtype())
        throw InternalError("gradient of '" + op->name() + "' (" + op->op() + ") for input " +
                            std::to_string(j) + " has dtype " + dtype_name(in_grads[j].dtype()) +
                            ", the input " + inputs[j].name() + " has " + dtype_name(inputs[j].dtype()));
      grads.contribute(inputs[j], in_grads[j]);
    }
  }

  std::vector<Output> result;
  for (const Output& x : xs) result.push_back(grads.total(x));
  return result;
}

}  // namespace kiln
