// Saver::save_async and SaveHandle (io/saver.h): the snapshot is taken on the caller's thread,
// the files, state file and retention are done on one background thread per Saver.
#include <condition_variable>
#include <exception>
#include <iostream>
#include <mutex>

#include "core/errors.h"
#include "io/saver.h"

namespace kiln {

struct SaveHandle::State {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool done = false;
  std::string path;
  std::exception_ptr error;
  mutable bool seen = false;  // some wait() has returned or thrown the result
};

std::string SaveHandle::wait() const {
  if (!state_) throw FailedPreconditionError("SaveHandle::wait on an empty handle");
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->done; });
  state_->seen = true;
  if (state_->error) std::rethrow_exception(state_->error);
  return state_->path;
}

bool SaveHandle::done() const {
  if (!state_) return false;
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->done;
}

Saver::AsyncSlot::AsyncSlot(AsyncSlot&& o) noexcept {
  o.join();
  state = std::move(o.state);
}

Saver::AsyncSlot& Saver::AsyncSlot::operator=(AsyncSlot&& o) noexcept {
  if (this != &o) {
    join();
    o.join();
    state = std::move(o.state);
  }
  return *this;
}

Saver::AsyncSlot::~AsyncSlot() { join(); }

void Saver::AsyncSlot::join() noexcept {
  if (thread.joinable()) thread.join();
}

Saver::~Saver() {
  async_.join();
  if (auto& st = async_.state) {
    std::lock_guard<std::mutex> lock(st->mu);
    if (st->error && !st->seen) {
      try {
        std::rethrow_exception(st->error);
      } catch (const std::exception& e) {
        std::cerr << "kiln: an asynchronous save nobody waited for failed: " << e.what() << "\n";
      } catch (...) {
        std::cerr << "kiln: an asynchronous save nobody waited for failed\n";
      }
    }
  }
}

void Saver::wait_for_pending_save() { finish_in_flight(/*rethrow_unseen=*/true); }

void Saver::finish_in_flight(bool rethrow_unseen) {
  async_.join();
  std::shared_ptr<SaveHandle::State> st = std::move(async_.state);
  if (!st || !rethrow_unseen) {
    if (st) async_.state = std::move(st);  // keep it for the destructor's report
    return;
  }
  std::lock_guard<std::mutex> lock(st->mu);
  if (st->error && !st->seen) {
    st->seen = true;
    std::rethrow_exception(st->error);
  }
}

SaveHandle Saver::save_async(Session& sess, const std::string& save_path,
                             const SaveOptions& options) {
  finish_in_flight(/*rethrow_unseen=*/true);
  auto state = std::make_shared<SaveHandle::State>();
  std::optional<PendingSave> pending = prepare_save(sess, save_path, options, /*async=*/true);
  if (!pending) {  // an empty Saver: nothing to write
    state->done = true;
    return SaveHandle(state);
  }
  auto job = std::make_shared<PendingSave>(std::move(*pending));
  async_.state = state;
  async_.thread = std::thread([this, job, state] {
    std::string path;
    std::exception_ptr error;
    try {
      path = commit_save(*job);
    } catch (...) {
      error = std::current_exception();
    }
    job->snapshot.tensors.clear();  // before done: waiters may count memory
    {
      std::lock_guard<std::mutex> lock(state->mu);
      state->path = std::move(path);
      state->error = error;
      state->done = true;
    }
    state->cv.notify_all();
  });
  return SaveHandle(state);
}

}  // namespace kiln
