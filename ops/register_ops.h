// Registers every builtin op with the op registry (a flat list of calls, no static
// initializers). Called once by EnsureRegistered().
#pragma once

namespace kiln {
void RegisterBuiltinOps();
}
