// Data parallelism over libtorch's c10d (TCPStore rendezvous, ProcessGroupGloo / ProcessGroupNCCL).
#pragma once

#include "common.h"

namespace expnet {

// Gradient averaging across the process group for one training step: libtorch's DDP Reducer, which buckets the
// gradients (~25 MB) and launches each bucket's all-reduce from autograd hooks while backward still runs.
class GradSync {
 public:
  virtual ~GradSync() = default;
  // Call after the forward pass, right before loss.backward(); backward then leaves averaged gradients.
  virtual void prepare(const at::Tensor& loss) = 0;
  // Rethrows a failure of backward (where the all-reduce runs) with the group's context and a hint.
  [[noreturn]] virtual void rethrow(const std::exception& e) = 0;
};

struct GradSyncOptions {
  double bucketMb = 25;
  bool findUnused = false;
};

// Throws std::runtime_error when no process group is initialised (or the addon was built without c10d).
std::shared_ptr<GradSync> makeGradSync(const Tensors& params, const GradSyncOptions& o);
GradSyncOptions gradSyncOptionsFrom(const Napi::Value& v);

void InitDist(Napi::Env env, Napi::Object exports);

}  // namespace expnet
