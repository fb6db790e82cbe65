// Slice keys of partitioned tensors: TensorFlow's OrderedCode encoding of (name, slice), under
// which a bundle (and a V1 checkpoint) stores each slice of a partitioned tensor
// (shared/reference/tf-checkpoint-format.md §1.9).
//
//   key = num(0) string(name) num(rank) { signed(start) signed(length) } per dimension
//
//   num(v)     a length byte n, then v big-endian in n bytes (leading zeros dropped; 0 is "00")
//   string(s)  s with 00 escaped as 00 FF and FF as FF 00, then the terminator 00 01
//   signed(v)  n bytes with v in [-2^(7n-1), 2^(7n-1)) as an 8n-bit two's complement number
//              whose top n bits are inverted: so the encoding starts with n ones and a zero for
//              v >= 0, n zeros and a one for v < 0, and sorts like v. One byte: 0x80 ^ v.
// A whole dimension is encoded as start 0, length -1. Keys start with 00, so they sort after
// the header ("") and before every plain tensor name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "io/bundle_format.h"

namespace kiln::io {

void ordered_put_num(std::string* dst, uint64_t v);
void ordered_put_string(std::string* dst, std::string_view s);
void ordered_put_signed(std::string* dst, int64_t v);

// Each reader consumes its item from the front of `*in`; false (and `*in` unspecified) when the
// bytes are not a valid encoding.
bool ordered_get_num(std::string_view* in, uint64_t* v);
bool ordered_get_string(std::string_view* in, std::string* s);
bool ordered_get_signed(std::string_view* in, int64_t* v);

std::string encode_slice_key(const std::string& name, const TensorSlice& slice);
// False when `key` is not exactly a slice key (e.g. a plain tensor name).
bool decode_slice_key(std::string_view key, std::string* name, TensorSlice* slice);

}  // namespace kiln::io
