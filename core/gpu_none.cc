// core/gpu.h for builds without CUDA: no devices; pinned memory is ordinary aligned memory.
#include <cstdlib>

#include "core/errors.h"
#include "core/gpu.h"

namespace kiln::gpu {

namespace {
[[noreturn]] void no_cuda() {
  throw FailedPreconditionError("kiln was built without CUDA (KILN_CUDA=OFF); no GPU available");
}
}  // namespace

bool built_with_cuda() { return false; }
int device_count() { return 0; }
std::string device_description(int) { no_cuda(); }
int multiprocessor_count(int) { no_cuda(); }
Stream stream(int, int) { no_cuda(); }
void synchronize(Stream) { no_cuda(); }
void set_device(int) { no_cuda(); }
void copy_host_to_device(void*, const void*, size_t, int, Stream) { no_cuda(); }
void copy_device_to_host(void*, const void*, size_t, int, Stream) { no_cuda(); }
void copy_device_to_device(void*, int, const void*, int, size_t, Stream) { no_cuda(); }
void memset_device(void*, int, size_t, int, Stream) { no_cuda(); }
void copy_async(void*, const void*, size_t, int, Stream) { no_cuda(); }
Stream io_stream(int) { no_cuda(); }
Event create_event(int) { no_cuda(); }
void destroy_event(Event) {}
void record_event(Event, Stream) { no_cuda(); }
void stream_wait_event(Stream, Event) { no_cuda(); }
void synchronize_event(Event) { no_cuda(); }
Allocator* device_allocator(int, int) { no_cuda(); }
AllocatorStats allocator_stats() { return {}; }
void empty_cache() {}

void* pinned_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = std::aligned_alloc(4096, (bytes + 4095) & ~size_t{4095});
  if (!p) throw ResourceExhaustedError("OOM allocating " + std::to_string(bytes) + " host bytes");
  return p;
}
void pinned_free(void* ptr) { std::free(ptr); }

}  // namespace kiln::gpu
