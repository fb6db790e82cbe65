// read_ranges_in_parallel: reads many byte ranges of files into memory on several threads, each
// range checksummed (crc32c) as it lands. The engine under BundleReader::lookup_each, i.e. under
// every CPU restore.
//
//   std::vector<io::RangeRead> ranges = ...;        // file, offset, size of each tensor's bytes
//   io::read_ranges_in_parallel(ranges, {.threads = 2}, {
//       .destination = [&](size_t i) { return alloc(i); },            // once per range
//       .finished = [&](size_t i, uint32_t crc) { check_and_use(i, crc); }});
//
// Why threads rather than one reader with a checksum helper: a read from the page cache is a
// copy by the kernel on the reading core, and the crc32c another pass over the same bytes. With
// one reader the copy and the crc of different pieces overlap at best; with several readers the
// copies themselves run on several cores, which is how a restore can reach the memory bandwidth
// of the machine rather than of one core. On storage, several requests in flight also keep an
// NVMe queue busier than one.
//
// Ranges are cut into pieces of at most `piece_bytes`; the threads (the caller's among them)
// take pieces in order from one shared cursor, so every range is read by whichever threads are
// free and at most `threads` ranges are in progress at once. Within a piece the bytes are read
// in sub-pieces of `sub_piece_bytes`, each checksummed right after it lands, while it is in the
// core's cache; the pieces' crcs are joined with crc32c::combine.
//
// Per range, in this order: destination(i) once, on the thread that takes its first piece,
// before any of its bytes are read (it returns memory for `size` bytes that stays valid until
// finished(i) returns); then finished(i, crc) once, on the thread that completes its last piece,
// after every byte has landed (crc is unmasked). Both may run on several threads at once for
// different ranges. A zero-size range gets both calls.
//
// Errors: when a read, destination() or finished() throws for range r, no range after r is
// started any more (ranges before r still are, and ranges already begun are completed, their
// callbacks running as usual, or abandoned mid-way if they fail too); once every thread has
// stopped, the exception of the lowest-numbered failed range is rethrown. So when several
// ranges would fail, the lowest of them is reported whatever the threads' timing. finished()
// has run for some ranges by then: callers that must be all-or-nothing stage results themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "io/file.h"

namespace kiln::io {

struct RangeRead {
  const RandomAccessFile* file = nullptr;
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct ParallelReadOptions {
  int threads = 1;                            // >= 1; the caller's thread counts as one
  size_t piece_bytes = size_t{4} << 20;       // unit of work shared between threads
  size_t sub_piece_bytes = size_t{256} << 10; // one read call, checksummed while hot in cache
};

struct ParallelReadCallbacks {
  std::function<char*(size_t range)> destination;
  std::function<void(size_t range, uint32_t crc)> finished;
};

void read_ranges_in_parallel(const std::vector<RangeRead>& ranges,
                             const ParallelReadOptions& options,
                             const ParallelReadCallbacks& callbacks);

// Threads a restore uses by default: the hardware's threads, at most 8 (beyond that the page
// cache copy is bound by memory bandwidth, not cores).
int default_read_threads();

}  // namespace kiln::io
