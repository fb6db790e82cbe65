#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>

#include "core/plan.h"

namespace kiln {

void rethrow_with_suffix(const Error& e, const std::string& suffix) {
  std::string msg = std::string(e.what()) + suffix;
  switch (e.code()) {
    case ErrorCode::kCancelled: throw CancelledError(msg);
    case ErrorCode::kInvalidArgument: throw InvalidArgumentError(msg);
    case ErrorCode::kNotFound: throw NotFoundError(msg);
    case ErrorCode::kAlreadyExists: throw AlreadyExistsError(msg);
    case ErrorCode::kResourceExhausted: throw ResourceExhaustedError(msg);
    case ErrorCode::kFailedPrecondition: throw FailedPreconditionError(msg);
    case ErrorCode::kOutOfRange: throw OutOfRangeError(msg);
    case ErrorCode::kUnimplemented: throw UnimplementedError(msg);
    case ErrorCode::kInternal: throw InternalError(msg);
    case ErrorCode::kDataLoss: throw DataLossError(msg);
    default: throw UnknownError(msg);
  }
}

Tensor read_variable(VariableState& var) {
  std::lock_guard<std::mutex> lock(var.mu);
  if (!var.initialized)
    throw FailedPreconditionError("Attempting to use uninitialized value " + var.name);
  return var.value;
}

void Executor::run_step(const PlanStep& step, std::vector<Value>& values) {
  std::vector<Value> inputs(step.input_slots.size());
  std::vector<Value> outputs(step.num_outputs);
  try {
    for (size_t i = 0; i < step.input_slots.size(); ++i) {
      const Value& v = values[step.input_slots[i]];
      if (step.input_is_ref[i]) {
        if (!v.ref)
          throw InvalidArgumentError("input " + std::to_string(i) + " must be a variable reference");
        inputs[i].ref = v.ref;
        continue;
      }
      Tensor t = v.ref ? read_variable(*v.ref) : v.tensor;
      Device& dev = *step.device;
      // Memory of another device (or another GPU stream) is copied to this one; logical CPUs
      // share the host allocator and need no copy.
      if (step.input_on_host[i]) {
        if (t.valid() && !t.on_host()) t = t.to_host();
      } else if (t.valid() && t.allocator() != dev.allocator() && !(t.on_host() && !dev.is_gpu())) {
        t = t.copy_to(dev.allocator(), dev.spec());
      }
      inputs[i].tensor = std::move(t);
    }
    OpKernelContext ctx(*step.node, *step.device, state_, inputs, outputs);
    step.kernel(ctx);
    for (int k = 0; k < step.num_outputs; ++k) {
      if (!outputs[k].tensor.valid() && !outputs[k].ref)
        throw InternalError("kernel did not produce output " + std::to_string(k));
      values[step.output_base + k] = std::move(outputs[k]);
    }
  } catch (const Error& e) {
    rethrow_with_suffix(e, "\n\t [[{{node " + step.node->name() + "}} = " + step.node->op() +
                               " on " + step.device->spec().to_string() + "]]");
  } catch (const std::exception& e) {
    throw InternalError(std::string(e.what()) + "\n\t [[{{node " + step.node->name() + "}}]]");
  }
}

std::vector<Value> Executor::run(std::vector<Tensor> feeds) {
  std::vector<Value> values(plan_.num_slots);
  for (size_t i = 0; i < feeds.size(); ++i) values[plan_.feed_slots[i]].tensor = std::move(feeds[i]);
  if (plan_.single_device) run_sequential(values);
  else run_parallel(values);
  for (Device* d : plan_.gpu_devices) d->synchronize();
  std::vector<Value> fetched;
  fetched.reserve(plan_.fetch_slots.size());
  for (int slot : plan_.fetch_slots) fetched.push_back(values[slot]);
  return fetched;
}

void Executor::run_sequential(std::vector<Value>& values) {
  std::vector<int> uses = plan_.slot_uses;
  for (const PlanStep& step : plan_.steps) {
    run_step(step, values);
    for (int slot : step.input_slots)
      if (--uses[slot] == 0) values[slot] = Value();  // last reader done: free early
  }
}

namespace {

// What the tasks of one parallel run share. Tasks hold it by shared_ptr, so the last task can
// still signal after the waiting thread has seen the count reach zero and returned.
struct ParallelRun {
  explicit ParallelRun(const Plan& plan)
      : pending(plan.steps.size()), uses(plan.num_slots), remaining(static_cast<int>(plan.steps.size())) {
    for (size_t i = 0; i < plan.steps.size(); ++i) pending[i] = plan.steps[i].num_predecessors;
    for (int s = 0; s < plan.num_slots; ++s) uses[s] = plan.slot_uses[s];
  }
  std::vector<std::atomic<int>> pending;
  std::vector<std::atomic<int>> uses;
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable done;
  int remaining;  // guarded by mu
  std::exception_ptr error;
};

}  // namespace

void Executor::run_parallel(std::vector<Value>& values) {
  const int n = static_cast<int>(plan_.steps.size());
  if (n == 0) return;
  auto run = std::make_shared<ParallelRun>(plan_);
  // Each step runs on its device's worker; finishing a step releases its successors. `values`
  // and `this` outlive every task: the caller waits until the last step has finished with them.
  std::function<void(int)> schedule;
  schedule = [this, run, &values, &schedule](int i) {
    plan_.steps[i].device->worker().submit([this, run, &values, &schedule, i] {
      const PlanStep& s = plan_.steps[i];
      if (!run->failed.load()) {
        try {
          run_step(s, values);
        } catch (...) {
          std::lock_guard<std::mutex> lock(run->mu);
          if (!run->error) run->error = std::current_exception();
          run->failed = true;
        }
      }
      for (int slot : s.input_slots)
        if (run->uses[slot].fetch_sub(1) == 1) values[slot] = Value();
      for (int succ : s.successors)
        if (run->pending[succ].fetch_sub(1) == 1) schedule(succ);
      std::lock_guard<std::mutex> lock(run->mu);
      if (--run->remaining == 0) run->done.notify_all();
    });
  };
  for (int i = 0; i < n; ++i)
    if (plan_.steps[i].num_predecessors == 0) schedule(i);
  std::unique_lock<std::mutex> lock(run->mu);
  run->done.wait(lock, [&] { return run->remaining == 0; });
  if (run->error) std::rethrow_exception(run->error);
}

}  // namespace kiln
