#include "isa.h"

#include <atomic>
#include <cstdlib>

#include "../core/compiler.h"
#include "../core/errors.h"
#include "../core/x86_features.h"

namespace rk::cpu {
namespace {

const Kernels* kernels_for(const std::string& name) {
#if RK_GNU_X86_64
  const X86Features& x86 = x86_features();
  if (name == "avx512" && x86.avx512f && x86.avx512dq && x86.avx512vl) return avx512_kernels();
  if (name == "avx2" && x86.avx2 && x86.fma) return avx2_kernels();
#endif
  // Advanced SIMD is part of the arm64 baseline: every arm64 CPU has it.
  if (name == "neon") return neon_kernels();
  if (name == "generic") return &generic_kernels();
  return nullptr;
}

const Kernels* best() {
  for (const std::string& name : supported_isas()) return kernels_for(name);
  return &generic_kernels();
}

const Kernels* initial() {
  const char* env = std::getenv("RNNKIT_ISA");
  if (env && *env && std::string(env) != "auto")
    if (const Kernels* k = kernels_for(env)) return k;
  return best();
}

std::atomic<const Kernels*>& active() {
  static std::atomic<const Kernels*> kernels{initial()};
  return kernels;
}

}  // namespace

std::vector<std::string> supported_isas() {
  std::vector<std::string> names;
  for (const char* name : {"avx512", "avx2", "neon"})
    if (kernels_for(name)) names.push_back(name);
  names.push_back("generic");
  return names;
}

const Kernels& active_kernels() { return *active().load(std::memory_order_acquire); }

void set_isa(const std::string& name) {
  const Kernels* k = name == "auto" ? best() : kernels_for(name);
  if (!k) {
    std::string list;
    for (const auto& s : supported_isas()) list += (list.empty() ? "'" : ", '") + s + "'";
    throw TypeError("isa must be 'auto' or one this CPU supports (" + list + "), got '" + name + "'");
  }
  active().store(k, std::memory_order_release);
}

std::string isa_name() { return active_kernels().name; }

}  // namespace rk::cpu
