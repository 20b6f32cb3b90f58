// Tensor handles: creation from typed arrays, copies out, metadata, autograd entry points.
#include <cstring>

#include "common.h"

namespace expnet {

Napi::FunctionReference TensorWrap::ctor;
std::atomic<int64_t> TensorWrap::live{0};

void TensorWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "NativeTensor",
                                 {
                                     InstanceMethod("dispose", &TensorWrap::Dispose),
                                     InstanceMethod("isDisposed", &TensorWrap::IsDisposed),
                                     InstanceMethod("shape", &TensorWrap::Shape),
                                     InstanceMethod("dtype", &TensorWrap::DType),
                                     InstanceMethod("device", &TensorWrap::Device),
                                     InstanceMethod("requiresGrad", &TensorWrap::RequiresGrad),
                                     InstanceMethod("setRequiresGrad", &TensorWrap::SetRequiresGrad),
                                     InstanceMethod("grad", &TensorWrap::Grad),
                                     InstanceMethod("zeroGrad", &TensorWrap::ZeroGrad),
                                     InstanceMethod("backward", &TensorWrap::Backward),
                                     InstanceMethod("toArray", &TensorWrap::ToArray),
                                     InstanceMethod("item", &TensorWrap::Item),
                                     InstanceMethod("copyFrom", &TensorWrap::CopyFrom),
                                     InstanceMethod("numBytes", &TensorWrap::NumBytes),
                                     InstanceMethod("memoryFormat", &TensorWrap::MemoryFormat),
                                 });
  ctor = Napi::Persistent(f);
  exports.Set("NativeTensor", f);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

TensorWrap::~TensorWrap() {
  if (tensor.defined()) live--;
}

void TensorWrap::set(at::Tensor t) {
  if (tensor.defined()) live--;
  tensor = std::move(t);
  if (tensor.defined()) live++;
}

Napi::Object TensorWrap::Wrap(Napi::Env env, at::Tensor t) {
  Napi::Object obj = ctor.New({});
  Unwrap(obj)->set(std::move(t));
  return obj;
}

bool TensorWrap::Is(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(ctor.Value());
}

at::Tensor& TensorWrap::From(const Napi::Value& v, const char* what) {
  if (!Is(v)) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a tensor");
  TensorWrap* w = Unwrap(v.As<Napi::Object>());
  if (!w->tensor.defined()) throw Napi::Error::New(v.Env(), std::string(what) + ": the tensor was already disposed");
  return w->tensor;
}

Tensors tensorsFrom(const Napi::Value& v, const char* what, bool allowNull) {
  Napi::Env env = v.Env();
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + ": expected an array of tensors");
  Napi::Array arr = v.As<Napi::Array>();
  Tensors out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value e = arr.Get(k);
    if (allowNull && (e.IsNull() || e.IsUndefined())) {
      out.emplace_back();
    } else {
      std::string label = std::string(what) + " input " + std::to_string(k);
      out.push_back(TensorWrap::From(e, label.c_str()));
    }
  }
  return out;
}

Napi::Array wrapAll(Napi::Env env, const Tensors& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); ++k) arr.Set(k, TensorWrap::Wrap(env, ts[k]));
  return arr;
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  set(at::Tensor());
  return info.Env().Undefined();
}

Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor.defined());
}

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "shape");
  Napi::Array arr = Napi::Array::New(info.Env(), t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) arr.Set(static_cast<uint32_t>(d), Napi::Number::New(info.Env(), static_cast<double>(t.size(d))));
  return arr;
}

Napi::Value TensorWrap::DType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtypeName(From(info.This(), "dtype").scalar_type()));
}

Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), From(info.This(), "device").device().str());
}

Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), From(info.This(), "requiresGrad").requires_grad());
}

Napi::Value TensorWrap::SetRequiresGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "setRequiresGrad");
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setRequiresGrad: expected a boolean");
  EXPNET_TRY
  t.set_requires_grad(info[0].As<Napi::Boolean>().Value());
  EXPNET_CATCH(info.Env(), "setRequiresGrad", describe(t))
  return info.Env().Undefined();
}

Napi::Value TensorWrap::Grad(const Napi::CallbackInfo& info) {
  at::Tensor g = From(info.This(), "grad").grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
}

Napi::Value TensorWrap::ZeroGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "zeroGrad");
  if (t.grad().defined()) t.mutable_grad() = at::Tensor();
  return info.Env().Undefined();
}

Napi::Value TensorWrap::Backward(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "backward");
  at::Tensor grad;
  if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) grad = From(info[0], "backward: gradient");
  bool retain = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  EXPNET_TRY
  t.backward(grad, retain);
  EXPNET_CATCH(info.Env(), "backward", describe(t))
  return info.Env().Undefined();
}

template <typename T, typename ArrayT>
static Napi::Value copyOut(Napi::Env env, const at::Tensor& c) {
  auto arr = ArrayT::New(env, static_cast<size_t>(c.numel()));
  if (c.numel() > 0) std::memcpy(arr.Data(), c.data_ptr<T>(), c.numel() * sizeof(T));
  return arr;
}

Napi::Value TensorWrap::ToArray(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "toArray");
  Napi::Env env = info.Env();
  at::Tensor c;
  EXPNET_TRY
  c = t.detach().to(at::kCPU).contiguous();
  if (c.scalar_type() == at::kHalf || c.scalar_type() == at::kBFloat16) c = c.to(at::kFloat);
  EXPNET_CATCH(env, "toArray", describe(t))
  switch (c.scalar_type()) {
    case at::kFloat: return copyOut<float, Napi::Float32Array>(env, c);
    case at::kDouble: return copyOut<double, Napi::Float64Array>(env, c);
    case at::kLong: return copyOut<int64_t, Napi::BigInt64Array>(env, c);
    case at::kInt: return copyOut<int32_t, Napi::Int32Array>(env, c);
    case at::kByte: return copyOut<uint8_t, Napi::Uint8Array>(env, c);
    case at::kBool: {
      at::Tensor u = c.to(at::kByte);
      return copyOut<uint8_t, Napi::Uint8Array>(env, u);
    }
    default: throw Napi::Error::New(env, "toArray: unsupported dtype " + dtypeName(c.scalar_type()));
  }
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "item");
  if (t.numel() != 1) throw Napi::Error::New(info.Env(), "item: expected a tensor with one element, got " + describe(t));
  double v = 0;
  EXPNET_TRY
  v = t.item<double>();
  EXPNET_CATCH(info.Env(), "item", describe(t))
  return Napi::Number::New(info.Env(), v);
}

Napi::Value TensorWrap::MemoryFormat(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "memoryFormat");
  if (t.dim() == 4 && t.suggest_memory_format() == at::MemoryFormat::ChannelsLast) return Napi::String::New(info.Env(), "channels_last");
  return Napi::String::New(info.Env(), t.is_contiguous() ? "contiguous" : "strided");
}

Napi::Value TensorWrap::NumBytes(const Napi::CallbackInfo& info) {
  at::Tensor& t = From(info.This(), "numBytes");
  return Napi::Number::New(info.Env(), static_cast<double>(t.nbytes()));
}

// Element type and count of a JS typed array, checked against a dtype.
static at::Tensor fromTypedArray(Napi::Env env, const Napi::TypedArray& ta, const std::vector<int64_t>& shape,
                                 at::ScalarType dtype) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Napi::RangeError::New(env, "fromArray: shape entries must be non-negative");
    n *= d;
  }
  if (static_cast<int64_t>(ta.ElementLength()) != n)
    throw Napi::RangeError::New(env, "fromArray: the array has " + std::to_string(ta.ElementLength()) +
                                         " elements but the shape needs " + std::to_string(n));
  at::ScalarType src;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: src = at::kFloat; break;
    case napi_float64_array: src = at::kDouble; break;
    case napi_bigint64_array: src = at::kLong; break;
    case napi_int32_array: src = at::kInt; break;
    case napi_uint8_array: src = at::kByte; break;
    default: throw Napi::TypeError::New(env, "fromArray: use a Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array");
  }
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(src));
  if (n > 0) std::memcpy(t.data_ptr(), base, ta.ByteLength());
  if (dtype == at::kBool) return t.ne(0);  // any non-zero value is true
  return src == dtype ? t : t.to(dtype);
}

static std::vector<int64_t> shapeArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string(what) + ": the shape must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value e = a.Get(k);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)))
      throw Napi::TypeError::New(env, std::string(what) + ": shape entries must be non-negative integers");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

// fromArray(typedArray, shape, dtype, device?, requiresGrad?)
static Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || !info[2].IsString())
    throw Napi::TypeError::New(env, "fromArray(data, shape, dtype, device?, requiresGrad?): bad arguments");
  std::vector<int64_t> shape = shapeArg(env, info[1], "fromArray");
  std::string dt = info[2].As<Napi::String>().Utf8Value();
  std::string dev = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "cpu";
  bool rg = info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  at::Tensor t;
  EXPNET_TRY
  t = fromTypedArray(env, info[0].As<Napi::TypedArray>(), shape, parseDType(dt));
  if (dev != "cpu") t = t.to(torch::Device(dev));
  if (rg) t.set_requires_grad(true);
  EXPNET_CATCH(env, "fromArray", dt + " to " + dev)
  return TensorWrap::Wrap(env, t);
}

// In-place copy of a typed array or a tensor into this tensor (no autograd), used by loadStateDict.
Napi::Value TensorWrap::CopyFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = From(info.This(), "copyFrom");
  EXPNET_TRY
  torch::NoGradGuard ng;
  if (info.Length() > 0 && info[0].IsTypedArray()) {
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    at::Tensor src = fromTypedArray(env, info[0].As<Napi::TypedArray>(), shape, t.scalar_type());
    t.copy_(src);
  } else {
    at::Tensor& src = From(info[0], "copyFrom: source");
    if (!src.sizes().equals(t.sizes()))
      throw std::runtime_error("shape mismatch: destination " + describe(t) + ", source " + describe(src));
    t.copy_(src);
  }
  EXPNET_CATCH(env, "copyFrom", describe(t))
  return env.Undefined();
}

// setData(dst, src): dst's data becomes src's (device, dtype, values) in place, keeping dst's identity: every
// handle, optimiser and program holding dst sees the new data, as PyTorch's `param.data = ...` in Module._apply.
// A gradient dst already has moves with it. Not an op of the table: not differentiable, and never traced.
static Napi::Value SetData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor dst = TensorWrap::From(info[0], "setData: destination");
  at::Tensor src = TensorWrap::From(info.Length() > 1 ? info[1] : env.Undefined(), "setData: source");
  EXPNET_TRY
  torch::NoGradGuard ng;
  dst.set_data(src.detach());
  if (dst.grad().defined() && dst.grad().device() != dst.device()) dst.mutable_grad() = dst.grad().to(dst.device());
  EXPNET_CATCH(env, "setData", describe(dst) + ", " + describe(src))
  return env.Undefined();
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  TensorWrap::Init(env, exports);
  exports.Set("fromArray", Napi::Function::New(env, FromArray, "fromArray"));
  exports.Set("setData", Napi::Function::New(env, SetData, "setData"));
}

}  // namespace expnet
