// Which instruction set the CPU device's kernels use: the best this CPU supports, unless
// set otherwise by rk.setIsa() or the RNNKIT_ISA environment variable.
#ifndef RNNKIT_CPU_ISA_H
#define RNNKIT_CPU_ISA_H

#include <string>
#include <vector>

#include "kernels.h"

namespace rk::cpu {

const Kernels& active_kernels();
// "auto" picks the best supported; throws TypeError for unknown or unsupported names.
void set_isa(const std::string& name);
std::string isa_name();
std::vector<std::string> supported_isas();  // best first, always ending with "generic"

}  // namespace rk::cpu

#endif
