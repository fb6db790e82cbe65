// Variable ops: VariableV2 (and the legacy Variable), Assign, AssignAdd, AssignSub.
// A variable's value lives in the session; Assign/AssignAdd/AssignSub take the variable by
// reference (input 0) and output its new value. Readers hold values, not views: an assignment
// to a variable whose current buffer is still referenced elsewhere writes a new buffer
// (copy on write), so a fetched or in-flight value never changes under its reader.
#pragma once

#include <string>

#include "core/graph.h"

namespace kiln {

Output variable_v2(Graph& g, const Shape& shape, DType dtype, const std::string& name = "Variable");
Output assign(Output ref, Output value, bool validate_shape = true, const std::string& name = "Assign");
Output assign_add(Output ref, Output value, const std::string& name = "AssignAdd");
Output assign_sub(Output ref, Output value, const std::string& name = "AssignSub");

void RegisterStateOps();

}  // namespace kiln
