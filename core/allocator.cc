#include "core/allocator.h"

#include <cstdlib>
#include <new>

#include "core/errors.h"

namespace kiln {

namespace {

class HostAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    size_t rounded = (bytes + 63) & ~size_t{63};
    void* p = std::aligned_alloc(64, rounded);
    if (!p)
      throw ResourceExhaustedError("OOM when allocating " + std::to_string(bytes) +
                                   " bytes of host memory");
    return p;
  }
  void deallocate(void* ptr, size_t) override { std::free(ptr); }
  MemoryKind kind() const override { return MemoryKind::kHost; }
  std::string name() const override { return "cpu"; }
};

}  // namespace

Allocator* host_allocator() {
  static HostAllocator* allocator = new HostAllocator();  // never destroyed: tensors may outlive main
  return allocator;
}

}  // namespace kiln
