// Stand-in for a libtorch header that Debian's libtorch-dev leaves out (distributed autograd, RPC) but
// c10d/reducer.hpp includes for two names: the GradCallback type and the ContextPtr of a member the addon never
// touches. Only added to the include path when the real header is missing (native/binding.gyp); the DDP Reducer
// itself is compiled into libtorch_cpu, so nothing here is ever instantiated.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
