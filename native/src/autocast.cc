// Mixed precision through ATen's own autocast dispatch (AutocastCPU: bfloat16; Autocast (CUDA): float16/bfloat16).
// Autocast state is thread-local in ATen: the JS thread holds a stack of scopes (autocastPush/autocastPop), and a
// traced program records the state it was traced under, so that its replay sets it again on whichever thread runs
// it (the JS thread or an AsyncWorker). Parameters, gradients and optimiser state are never cast: ATen casts the
// inputs of each op on its lower-precision list, and the casts' backward returns float32 gradients.
#include <ATen/autocast_mode.h>

#include <vector>

#include "common.h"

namespace expnet {

AutocastState currentAutocast() {
  AutocastState s;
  s.cpu = at::autocast::is_cpu_enabled();
  s.cuda = at::autocast::is_enabled();
  s.cpuDtype = at::autocast::get_autocast_cpu_dtype();
  s.cudaDtype = at::autocast::get_autocast_gpu_dtype();
  return s;
}

static void applyAutocast(const AutocastState& s) {
  at::autocast::set_cpu_enabled(s.cpu);
  at::autocast::set_enabled(s.cuda);
  at::autocast::set_autocast_cpu_dtype(s.cpuDtype);
  at::autocast::set_autocast_gpu_dtype(s.cudaDtype);
}

AutocastGuard::AutocastGuard(const AutocastState& s) : prev_(currentAutocast()), active_(s.any()) {
  applyAutocast(s);
  if (active_) at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  // As torch.autocast's __exit__: the cast cache (float32 weights -> bf16 copies) lives until the outermost
  // scope ends, so an optimiser step after the scope never meets a stale copy.
  if (active_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  applyAutocast(prev_);
}

namespace {

at::ScalarType lowDType(const Napi::Env& env, const Napi::Value& v, bool cuda) {
  std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(cuda ? "float16" : "bfloat16");
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") {
    if (!cuda) throw Napi::TypeError::New(env, "autocast: on the CPU only bfloat16 is supported (ATen's AutocastCPU)");
    return at::kHalf;
  }
  throw Napi::TypeError::New(env, "autocast: dtype must be 'bfloat16' or 'float16', got '" + name + "'");
}

// The JS thread's scopes; each entry is the state to restore when it is popped.
std::vector<AutocastState>& jsStack() {
  static std::vector<AutocastState> s;
  return s;
}

// autocastPush({ cpu: boolean, cuda: boolean, cpuDtype?: 'bfloat16', cudaDtype?: 'float16' | 'bfloat16' }) -> depth
Napi::Value AutocastPush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "autocastPush: expected an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  AutocastState s = currentAutocast();
  s.cpu = o.Get("cpu").ToBoolean().Value();
  s.cuda = o.Get("cuda").ToBoolean().Value();
  if (s.cpu) s.cpuDtype = lowDType(env, o.Get("cpuDtype"), false);
  if (s.cuda) s.cudaDtype = lowDType(env, o.Get("cudaDtype"), true);
  jsStack().push_back(currentAutocast());
  applyAutocast(s);
  if (s.any()) at::autocast::increment_nesting();
  return Napi::Number::New(env, static_cast<double>(jsStack().size()));
}

Napi::Value AutocastPop(const Napi::CallbackInfo& info) {
  auto& st = jsStack();
  if (st.empty()) throw Napi::Error::New(info.Env(), "autocastPop: no autocast scope is open");
  bool wasActive = currentAutocast().any();
  AutocastState prev = st.back();
  st.pop_back();
  if (wasActive && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  applyAutocast(prev);
  return Napi::Number::New(info.Env(), static_cast<double>(st.size()));
}

Napi::Value AutocastState_(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AutocastState s = currentAutocast();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpu", s.cpu);
  o.Set("cuda", s.cuda);
  o.Set("cpuDtype", dtypeName(s.cpuDtype));
  o.Set("cudaDtype", dtypeName(s.cudaDtype));
  o.Set("depth", static_cast<double>(jsStack().size()));
  return o;
}

}  // namespace

void InitAutocast(Napi::Env env, Napi::Object exports) {
  exports.Set("autocastPush", Napi::Function::New(env, AutocastPush, "autocastPush"));
  exports.Set("autocastPop", Napi::Function::New(env, AutocastPop, "autocastPop"));
  exports.Set("autocastState", Napi::Function::New(env, AutocastState_, "autocastState"));
}

}  // namespace expnet
