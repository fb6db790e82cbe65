// Saver::restore: checks every variable against the checkpoint, then reads each device's
// variables on a thread of its own (CPU variables on io.restore_threads threads through
// CheckpointReader::read_each, GPU variables through the pinned staging pool) and hands each
// to the session as soon as it is read.
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/pinned_pool.h"
#include "io/checkpoint_reader.h"
#include "io/checkpoint_state.h"
#include "io/parallel_read.h"
#include "io/saver.h"

namespace kiln {
namespace {

const char kMissingKeyHelp[] =
    "Restoring from checkpoint failed. This is most likely due to a Variable name or other graph "
    "key that is missing from the checkpoint. Please ensure that you have not altered the graph "
    "expected based on the checkpoint. Original error:\n\n";
const char kMismatchHelp[] =
    "Restoring from checkpoint failed. This is most likely due to a mismatch between the current "
    "graph and the graph from the checkpoint. Please ensure that you have not altered the graph "
    "expected based on the checkpoint. Original error:\n\n";

}  // namespace

void Saver::restore(Session& sess, const std::string& save_path) {
  if (empty_) return;
  if (!built_)
    throw FailedPreconditionError(
        "`build()` should be called before restore if defer_build==True");
  if (save_path.empty()) throw InvalidArgumentError("Can't load save_path when it is None.");
  if (!io::checkpoint_exists(save_path, fs_))
    throw InvalidArgumentError("The passed save_path is not a valid checkpoint: " + save_path);

  io::CheckpointReader reader(save_path, fs_);
  // Check every variable before assigning any.
  for (const auto& [name, var] : vars_) {
    if (!reader.has_tensor(name))
      throw NotFoundError(std::string(kMissingKeyHelp) + "Key " + name +
                          " not found in checkpoint");
    DType stored = reader.dtype(name);
    if (stored != var.dtype())
      throw InvalidArgumentError(std::string(kMismatchHelp) + "tensor_name = " + name +
                                 "; expected dtype " + dtype_name(var.dtype()) +
                                 " does not equal original dtype " + dtype_name(stored));
    Shape stored_shape = reader.shape(name);
    Shape shape = var.shape();
    bool same = shape.compatible_with(stored_shape);
    bool reshapeable = options_.reshape && !shape.unknown_rank() && shape.fully_defined() &&
                       shape.num_elements() == stored_shape.num_elements();
    if (!same && !reshapeable)
      throw InvalidArgumentError(std::string(kMismatchHelp) +
                                 "Assign requires shapes of both tensors to match. lhs shape= " +
                                 shape.to_string() + " rhs shape= " + stored_shape.to_string() +
                                 " (variable " + var.name() + ", checkpoint key " + name + ")");
  }
  // Each device's variables are read on a thread of their own (every device's data is read
  // concurrently), straight into memory of the variable's device, each handed to the session as
  // soon as it is read and checked (its old value freed then). CPU variables: by
  // `io.restore_threads` threads sharing the tensors and splitting large ones
  // (CheckpointReader::read_each), so the extra memory is at most that many variables. GPU
  // variables: one at a time through the Saver's pinned staging buffers, so a restore onto a
  // GPU never holds the checkpoint in host memory (extra: one variable and the staging buffers).
  struct Item {
    std::string name;
    const Variable* var;
  };
  std::map<DeviceSpec, std::vector<Item>> by_device;
  std::map<DeviceSpec, Device*> devices;
  for (const auto& [name, var] : vars_) {
    Device& d = sess.device_for(var.op().node);
    by_device[d.spec()].push_back({name, &var});
    devices[d.spec()] = &d;
  }
  if (options_.io.restore_threads < 0)
    throw InvalidArgumentError("CheckpointIoOptions.restore_threads must be >= 0 (0: the "
                               "hardware's threads), got " +
                               std::to_string(options_.io.restore_threads));
  const int read_threads = options_.restore_sequentially ? 1
                      : options_.io.restore_threads > 0 ? options_.io.restore_threads
                                                        : io::default_read_threads();
  std::mutex session_mu;  // GPU tensors are allocated one at a time (see below)
  // Session's variable methods lock what they touch (core/session.h), so the read threads hand
  // over their variables without a lock of ours: with a lock here, the hand-over of many small
  // tensors was serial and the reading threads queued on it.
  std::atomic<bool> adopt_failed{false};  // its NotFoundError is not a missing checkpoint key
  auto adopt = [&](const Variable& var, Tensor value) {
    Shape shape = var.shape();
    if (shape.fully_defined() && !(value.shape() == shape)) value = value.reshaped(shape);
    try {
      sess.adopt_variable_value(var.name(), std::move(value));
    } catch (const NotFoundError&) {  // e.g. a session of another graph
      adopt_failed = true;
      throw;
    }
  };
  auto restore_device = [&](const DeviceSpec& spec, const std::vector<Item>& items) {
    Device* device = devices.at(spec);  // at(): safe from several threads, operator[] is not
    try {
      if (device->allocator()->kind() != MemoryKind::kGpu) {
        std::vector<std::string> names;
        for (const Item& item : items) names.push_back(item.name);
        reader.read_each(names, read_threads,
                         [&](size_t i, Tensor&& value) { adopt(*items[i].var, std::move(value)); },
                         device->allocator(), device->spec());
        return;
      }
      for (const Item& item : items) {
        Tensor value;
        if (reader.dtype(item.name) != DType::kString) {
          {
            std::lock_guard<std::mutex> lock(session_mu);
            value = Tensor(reader.dtype(item.name), reader.shape(item.name), device->allocator(),
                           device->spec());
          }
          reader.read_into(item.name, value, staging_pool(spec.to_string()));
        } else {
          value = reader.get_tensor(item.name);
        }
        adopt(*item.var, std::move(value));
      }
    } catch (const NotFoundError& e) {
      if (adopt_failed) throw;
      throw NotFoundError(std::string(kMissingKeyHelp) + e.what());
    }
  };
  if (by_device.size() == 1 || !reader.is_v2()) {  // (the V1 reader is read by one thread)
    for (const auto& [spec, items] : by_device) restore_device(spec, items);
    return;
  }
  std::vector<std::exception_ptr> errors(by_device.size());
  std::vector<std::thread> threads;
  size_t i = 0;
  for (const auto& [spec, items] : by_device) {
    threads.emplace_back([&, i, spec_ptr = &spec, items_ptr = &items] {
      try {
        restore_device(*spec_ptr, *items_ptr);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
    ++i;
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace kiln
