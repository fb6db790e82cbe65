// Typed errors named after TensorFlow's canonical status codes.
//
// Contract: every failure kiln reports to a user is one of these exceptions; all derive from
// kiln::Error, which carries the code and a message that names the file, variable, op or shape
// involved. CUDA/cuBLAS failures are InternalError with the failing expression and file:line.
#pragma once

#include <stdexcept>
#include <string>

namespace kiln {

enum class ErrorCode {
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kNotFound = 5,
  kAlreadyExists = 6,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kDataLoss = 15,
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

#define KILN_DEFINE_ERROR(Name, Code)                                  \
  class Name : public Error {                                          \
   public:                                                             \
    explicit Name(const std::string& message) : Error(Code, message) {} \
  };

KILN_DEFINE_ERROR(CancelledError, ErrorCode::kCancelled)
KILN_DEFINE_ERROR(UnknownError, ErrorCode::kUnknown)
KILN_DEFINE_ERROR(InvalidArgumentError, ErrorCode::kInvalidArgument)
KILN_DEFINE_ERROR(NotFoundError, ErrorCode::kNotFound)
KILN_DEFINE_ERROR(AlreadyExistsError, ErrorCode::kAlreadyExists)
KILN_DEFINE_ERROR(ResourceExhaustedError, ErrorCode::kResourceExhausted)
KILN_DEFINE_ERROR(FailedPreconditionError, ErrorCode::kFailedPrecondition)
KILN_DEFINE_ERROR(OutOfRangeError, ErrorCode::kOutOfRange)
KILN_DEFINE_ERROR(UnimplementedError, ErrorCode::kUnimplemented)
KILN_DEFINE_ERROR(InternalError, ErrorCode::kInternal)
KILN_DEFINE_ERROR(DataLossError, ErrorCode::kDataLoss)

#undef KILN_DEFINE_ERROR

}  // namespace kiln
