// O_DIRECT writable files for the POSIX file system (WritableFileOptions::direct_io).
//
// Bytes go to the file in whole 4 KiB-aligned blocks from an aligned 4 MiB buffer (or straight
// from the caller's memory when it is aligned and nothing is buffered), bypassing the page
// cache. The last partial block is written on sync()/close() after O_DIRECT is switched off for
// the file (fcntl), so any length can be written; appends after that go through the page cache.
// If the file system refuses O_DIRECT at open (EINVAL), new_direct_writable_file returns null
// and the caller opens the file the ordinary way; if it refuses the first aligned write, the file
// switches to ordinary writes and says so in direct_io_used() == false. Errors as io/file.h.
#pragma once

#include <memory>
#include <string>

#include "io/file.h"

namespace kiln::io {

// Null when the file system refuses O_DIRECT for `path` (the file is then not created).
std::unique_ptr<WritableFile> new_direct_writable_file(const std::string& path);

// True when `file` came from new_direct_writable_file and is still writing with O_DIRECT.
bool direct_io_used(const WritableFile& file);

// Throws the io/file.h error for errno `err` of `op` on `path` (posix_file_system.cc).
[[noreturn]] void throw_posix_error(const std::string& op, const std::string& path, int err);

}  // namespace kiln::io
