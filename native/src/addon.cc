// Module entry: op dispatch from JS, attributes, errors, RNG, threads, grad mode.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <mutex>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sstream>
#include <unordered_map>

#include "common.h"
#include "dist.h"

namespace expnet {

// ---------- attributes ----------
static const Attr kNone{};

const Attr& Attrs::at(size_t idx) const { return idx < items.size() ? items[idx] : kNone; }

static std::runtime_error attrError(const std::string& op, size_t idx, const char* want) {
  return std::runtime_error("attribute " + std::to_string(idx) + " of " + op + " must be " + want);
}

double Attrs::f(size_t idx) const {
  const Attr& a = at(idx);
  if (a.kind == Attr::Kind::Num) return a.num;
  if (a.kind == Attr::Kind::Bool) return a.flag ? 1 : 0;
  throw attrError(op, idx, "a number");
}

int64_t Attrs::i(size_t idx) const {
  double v = f(idx);
  if (v != static_cast<double>(static_cast<int64_t>(v))) throw attrError(op, idx, "an integer");
  return static_cast<int64_t>(v);
}

bool Attrs::b(size_t idx) const {
  const Attr& a = at(idx);
  if (a.kind == Attr::Kind::Bool) return a.flag;
  if (a.kind == Attr::Kind::Num) return a.num != 0;
  throw attrError(op, idx, "a boolean");
}

const std::vector<int64_t>& Attrs::ints(size_t idx) const {
  const Attr& a = at(idx);
  if (a.kind != Attr::Kind::Ints) throw attrError(op, idx, "an array of integers");
  return a.ints;
}

const std::string& Attrs::s(size_t idx) const {
  const Attr& a = at(idx);
  if (a.kind != Attr::Kind::Str) throw attrError(op, idx, "a string");
  return a.str;
}

std::vector<int64_t> Attrs::intsN(size_t idx, size_t n) const {
  const Attr& a = at(idx);
  if (a.kind == Attr::Kind::Num) return std::vector<int64_t>(n, i(idx));
  const auto& v = ints(idx);
  if (v.size() == 1) return std::vector<int64_t>(n, v[0]);
  if (v.size() != n) throw attrError(op, idx, ("a number or " + std::to_string(n) + " integers").c_str());
  return v;
}

Attrs parseAttrs(const Napi::Env& env, const Napi::Value& v, const std::string& op) {
  Attrs out;
  out.op = op;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) throw Napi::TypeError::New(env, op + ": attributes must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  out.items.resize(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value e = arr.Get(k);
    Attr& a = out.items[k];
    if (e.IsNumber()) {
      a.kind = Attr::Kind::Num;
      a.num = e.As<Napi::Number>().DoubleValue();
    } else if (e.IsBoolean()) {
      a.kind = Attr::Kind::Bool;
      a.flag = e.As<Napi::Boolean>().Value();
    } else if (e.IsString()) {
      a.kind = Attr::Kind::Str;
      a.str = e.As<Napi::String>().Utf8Value();
    } else if (e.IsArray()) {
      a.kind = Attr::Kind::Ints;
      Napi::Array l = e.As<Napi::Array>();
      for (uint32_t j = 0; j < l.Length(); ++j) {
        Napi::Value x = l.Get(j);
        if (!x.IsNumber()) throw Napi::TypeError::New(env, op + ": attribute " + std::to_string(k) + " must hold numbers only");
        double d = x.As<Napi::Number>().DoubleValue();
        if (d != static_cast<double>(static_cast<int64_t>(d)))
          throw Napi::TypeError::New(env, op + ": attribute " + std::to_string(k) + " must hold integers only");
        a.ints.push_back(static_cast<int64_t>(d));
      }
    } else if (!e.IsNull() && !e.IsUndefined()) {
      throw Napi::TypeError::New(env, op + ": attribute " + std::to_string(k) + " has an unsupported type");
    }
  }
  return out;
}

// ---------- op registry ----------
static std::unordered_map<std::string, OpDef>& registry() {
  static std::unordered_map<std::string, OpDef> r;
  return r;
}

void registerOp(const std::string& name, OpFn fn, int minInputs, int maxInputs, uint32_t optionalMask) {
  registry()[name] = OpDef{fn, minInputs, maxInputs, optionalMask};
}

const OpDef* findOp(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> opNames() {
  std::vector<std::string> out;
  for (const auto& kv : registry()) out.push_back(kv.first);
  return out;
}

// ---------- descriptions and errors ----------
at::ScalarType parseDType(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "float64") return at::kDouble;
  if (name == "int64") return at::kLong;
  if (name == "int32") return at::kInt;
  if (name == "uint8") return at::kByte;
  if (name == "bool") return at::kBool;
  if (name == "float16") return at::kHalf;
  if (name == "bfloat16") return at::kBFloat16;
  throw std::runtime_error("unknown dtype '" + name + "' (expected float32, float64, float16, bfloat16, int64, int32, uint8 or bool)");
}

std::string dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    default: return std::string(c10::toString(t));
  }
}

std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "none";
  std::ostringstream os;
  os << dtypeName(t.scalar_type()) << "[";
  for (int64_t d = 0; d < t.dim(); ++d) os << (d ? "," : "") << t.size(d);
  os << "]";
  if (!t.device().is_cpu()) os << "@" << t.device().str();
  return os.str();
}

std::string describeAll(const Tensors& ts) {
  std::string s;
  for (size_t k = 0; k < ts.size(); ++k) s += (k ? ", " : "") + describe(ts[k]);
  return s;
}

std::string firstLines(const std::string& msg, int n) {
  std::string out;
  int lines = 0;
  for (char c : msg) {
    if (c == '\n' && ++lines >= n) break;
    out += c;
  }
  return out;
}

void throwJs(const Napi::Env& env, const std::string& where, const std::exception& e, const std::string& detail) {
  std::string msg;
  if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) {
    msg = ce->what_without_backtrace();
  } else {
    msg = e.what();
  }
  msg = firstLines(msg, 3);
  std::string full = where + " failed: " + msg;
  if (!detail.empty()) full += " (inputs: " + detail + ")";
  throw Napi::Error::New(env, full);
}

// ---------- JS entry points ----------
static Napi::Value Op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "op: the first argument must be an op name");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const OpDef* def = findOp(name);
  if (!def) throw Napi::Error::New(env, "op: unknown op '" + name + "'");
  Tensors in = info.Length() > 1 && !info[1].IsUndefined() ? tensorsFrom(info[1], name.c_str(), true) : Tensors{};
  Attrs attrs = parseAttrs(env, info.Length() > 2 ? info[2] : env.Undefined(), name);
  Tensors out;
  EXPNET_TRY
  out = runOp(name, *def, in, attrs);
  EXPNET_CATCH(env, name, describeAll(in))
  if (out.size() == 1) return TensorWrap::Wrap(env, std::move(out[0]));
  return wrapAll(env, out);
}

static Napi::Value OpNames(const Napi::CallbackInfo& info) {
  auto names = opNames();
  Napi::Array arr = Napi::Array::New(info.Env(), names.size());
  for (size_t k = 0; k < names.size(); ++k) arr.Set(k, names[k]);
  return arr;
}

static double numberArg(const Napi::CallbackInfo& info, size_t k, const char* fn) {
  if (info.Length() <= k || !info[k].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(k) + " must be a number");
  return info[k].As<Napi::Number>().DoubleValue();
}

static Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  double s = numberArg(info, 0, "manualSeed");
  if (s < 0 || s != static_cast<double>(static_cast<uint64_t>(s)))
    throw Napi::RangeError::New(info.Env(), "manualSeed: the seed must be a non-negative integer");
  torch::manual_seed(static_cast<uint64_t>(s));
  return info.Env().Undefined();
}

static Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  double n = numberArg(info, 0, "setNumThreads");
  if (n < 1 || n > 1024 || n != static_cast<int>(n))
    throw Napi::RangeError::New(info.Env(), "setNumThreads: expected an integer from 1 to 1024");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

static Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  bool prev = torch::GradMode::is_enabled();
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setGradEnabled: expected a boolean");
  torch::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(info.Env(), prev);
}

static Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return TensorWrap::Wrap(info.Env(), gen.get_state());
}

static Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorWrap::From(info[0], "setRngState: state");
  EXPNET_TRY
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(t);
  EXPNET_CATCH(info.Env(), "setRngState", describe(t))
  return info.Env().Undefined();
}

static Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
}

static Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
}

static Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(TensorWrap::live.load()));
}

// glibc hands freed activation buffers (up to tens of MiB) back to the kernel and faults them in again on the
// next step: ~10k page faults per training step measured in bench/train-throughput. Keeping them in the heap
// cut system time 13.4 s -> 2.0 s over a run. EXPNET_MALLOC_DEFAULTS=1 keeps glibc's defaults.
static void tuneMalloc() {
#ifdef __GLIBC__
  const char* keep = std::getenv("EXPNET_MALLOC_DEFAULTS");
  if (keep && keep[0] == '1') return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  registerMathOps();
  registerNnOps();
  InitTensor(env, exports);
  InitProgram(env, exports);
  InitOptim(env, exports);
  InitDist(env, exports);
  InitAutocast(env, exports);
  exports.Set("op", Napi::Function::New(env, Op, "op"));
  exports.Set("opNames", Napi::Function::New(env, OpNames, "opNames"));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled, "setGradEnabled"));
  exports.Set("getRngState", Napi::Function::New(env, GetRngState, "getRngState"));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState, "setRngState"));
  exports.Set("cudaAvailable", Napi::Function::New(env, CudaAvailable, "cudaAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount, "cudaDeviceCount"));
  exports.Set("liveTensors", Napi::Function::New(env, LiveTensors, "liveTensors"));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  return exports;
}

NODE_API_MODULE(expnet_native, Init)

}  // namespace expnet
