// One thread running tasks in submission order: each device of a session has one, so work placed
// on different devices runs concurrently and work on one device stays in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace kiln {

class Worker {
 public:
  Worker();
  ~Worker();  // finishes queued tasks, then joins
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // Tasks must not throw: wrap them and hand failures back to the waiter.
  void submit(std::function<void()> task);

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kiln
