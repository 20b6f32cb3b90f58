// Shared declarations of the expnet N-API addon over libtorch.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace expnet {

// ---- op attributes: a JS array of number | number[] | boolean | string | null ----
struct Attr {
  enum class Kind { None, Num, Ints, Bool, Str };
  Kind kind = Kind::None;
  double num = 0;
  std::vector<int64_t> ints;
  bool flag = false;
  std::string str;
};

class Attrs {
 public:
  std::vector<Attr> items;
  std::string op;  // op name, for messages
  const Attr& at(size_t i) const;
  bool has(size_t i) const { return i < items.size() && items[i].kind != Attr::Kind::None; }
  double f(size_t i) const;
  int64_t i(size_t i) const;
  bool b(size_t i) const;
  const std::vector<int64_t>& ints(size_t i) const;
  const std::string& s(size_t i) const;
  // A list attribute; a single number is broadcast to `n` entries.
  std::vector<int64_t> intsN(size_t i, size_t n) const;
};

Attrs parseAttrs(const Napi::Env& env, const Napi::Value& v, const std::string& op);

// ---- the op table: every tensor op goes through here (so a trace can replay it) ----
using Tensors = std::vector<at::Tensor>;
using OpFn = Tensors (*)(const Tensors&, const Attrs&);

struct OpDef {
  OpFn fn;
  int minInputs;
  int maxInputs;          // -1 = variadic
  uint32_t optionalMask;  // bit k set: input k may be null (an undefined tensor)
};

void registerOp(const std::string& name, OpFn fn, int minInputs, int maxInputs, uint32_t optionalMask = 0);
const OpDef* findOp(const std::string& name);
std::vector<std::string> opNames();
void registerMathOps();
void registerNnOps();

// Helpers for op bodies.
inline c10::optional<at::Tensor> opt(const at::Tensor& t) {
  return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt;
}
at::ScalarType parseDType(const std::string& name);
std::string dtypeName(at::ScalarType t);
std::string describe(const at::Tensor& t);
std::string describeAll(const Tensors& ts);

// ---- tensor handles ----
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::FunctionReference ctor;
  static std::atomic<int64_t> live;
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static bool Is(const Napi::Value& v);
  // The tensor behind a JS handle; throws a JS TypeError naming `what` if it is not a live handle.
  static at::Tensor& From(const Napi::Value& v, const char* what);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  at::Tensor tensor;

 private:
  void set(at::Tensor t);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value CopyFrom(const Napi::CallbackInfo& info);
  Napi::Value NumBytes(const Napi::CallbackInfo& info);
  Napi::Value MemoryFormat(const Napi::CallbackInfo& info);
};

// Tensors from a JS array of handles (null/undefined -> undefined tensor when allowNull).
Tensors tensorsFrom(const Napi::Value& v, const char* what, bool allowNull);
Napi::Array wrapAll(Napi::Env env, const Tensors& ts);

// ---- error translation: every libtorch exception becomes a JS Error ----
[[noreturn]] void throwJs(const Napi::Env& env, const std::string& where, const std::exception& e,
                          const std::string& detail);
std::string firstLines(const std::string& msg, int n);

#define EXPNET_TRY try {
#define EXPNET_CATCH(env, where, detail)                                   \
  }                                                                        \
  catch (const Napi::Error&) {                                             \
    throw;                                                                 \
  }                                                                        \
  catch (const std::exception& e) {                                        \
    ::expnet::throwJs(env, where, e, detail);                              \
  }

// ---- mixed precision (native/src/autocast.cc) ----
struct AutocastState {
  bool cpu = false;
  bool cuda = false;
  at::ScalarType cpuDtype = at::kBFloat16;
  at::ScalarType cudaDtype = at::kHalf;
  bool any() const { return cpu || cuda; }
};
AutocastState currentAutocast();
// Sets `s` on the calling thread for its lifetime (then restores the previous state and, when the outermost
// autocast scope ends, clears ATen's cast cache).
class AutocastGuard {
 public:
  explicit AutocastGuard(const AutocastState& s);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState prev_;
  bool active_;
};
void InitAutocast(Napi::Env env, Napi::Object exports);

// ---- tracing / programs and optimisers ----
Tensors runOp(const std::string& name, const OpDef& def, const Tensors& in, const Attrs& attrs);
void InitProgram(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitTensor(Napi::Env env, Napi::Object exports);

}  // namespace expnet
