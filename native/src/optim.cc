// Optimisers: libtorch's own SGD, Adam and AdamW with parameter groups; state export/import for checkpoints.
#include "common.h"

namespace expnet {

namespace {

double num(const Napi::Object& o, const char* key, double def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("optimizer option '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool flag(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

std::unique_ptr<torch::optim::OptimizerOptions> optionsFor(const std::string& kind, const Napi::Object& g) {
  double lr = num(g, "lr", 1e-3);
  if (kind == "sgd") {
    auto o = std::make_unique<torch::optim::SGDOptions>(lr);
    o->momentum(num(g, "momentum", 0)).dampening(num(g, "dampening", 0)).weight_decay(num(g, "weightDecay", 0)).nesterov(flag(g, "nesterov"));
    if (o->nesterov() && (o->momentum() <= 0 || o->dampening() != 0))
      throw Napi::Error::New(g.Env(), "sgd: nesterov needs momentum > 0 and dampening 0");
    return o;
  }
  double b1 = num(g, "beta1", 0.9), b2 = num(g, "beta2", 0.999);
  if (kind == "adam") {
    auto o = std::make_unique<torch::optim::AdamOptions>(lr);
    o->betas(std::make_tuple(b1, b2)).eps(num(g, "eps", 1e-8)).weight_decay(num(g, "weightDecay", 0)).amsgrad(flag(g, "amsgrad"));
    return o;
  }
  if (kind == "adamw") {
    auto o = std::make_unique<torch::optim::AdamWOptions>(lr);
    o->betas(std::make_tuple(b1, b2)).eps(num(g, "eps", 1e-8)).weight_decay(num(g, "weightDecay", 1e-2)).amsgrad(flag(g, "amsgrad"));
    return o;
  }
  throw Napi::Error::New(g.Env(), "unknown optimizer '" + kind + "' (expected sgd, adam or adamw)");
}

std::string keyOf(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

class OptimWrap : public Napi::ObjectWrap<OptimWrap> {
 public:
  static Napi::FunctionReference ctor;
  // Shared with every training step built on it (and with a step in flight), so dispose() never leaves one dangling.
  std::shared_ptr<torch::optim::Optimizer> opt;
  std::string kind;

  // new NativeOptimizer(kind, groups: {params: NativeTensor[], lr, ...}[])
  explicit OptimWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OptimWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray())
      throw Napi::TypeError::New(env, "NativeOptimizer(kind, groups): bad arguments");
    kind = info[0].As<Napi::String>().Utf8Value();
    Napi::Array groups = info[1].As<Napi::Array>();
    if (groups.Length() == 0) throw Napi::Error::New(env, "an optimizer needs at least one parameter group");
    std::vector<torch::optim::OptimizerParamGroup> pg;
    EXPNET_TRY  // libtorch checks its options (lr >= 0, betas in [0, 1), ...) with c10::Error
    for (uint32_t k = 0; k < groups.Length(); ++k) {
      if (!groups.Get(k).IsObject()) throw Napi::TypeError::New(env, "each parameter group must be an object");
      Napi::Object g = groups.Get(k).As<Napi::Object>();
      Tensors params = tensorsFrom(g.Get("params"), "optimizer params", false);
      for (const auto& p : params)
        if (!p.is_leaf() || !p.is_floating_point())
          throw Napi::Error::New(env, "optimizer: parameters must be floating-point leaf tensors, got " + describe(p));
      pg.emplace_back(params, optionsFor(kind, g));
    }
    Napi::Object first = groups.Get(0u).As<Napi::Object>();
    if (kind == "sgd") opt = std::make_shared<torch::optim::SGD>(pg, *static_cast<torch::optim::SGDOptions*>(optionsFor(kind, first).get()));
    else if (kind == "adam") opt = std::make_shared<torch::optim::Adam>(pg, *static_cast<torch::optim::AdamOptions*>(optionsFor(kind, first).get()));
    else opt = std::make_shared<torch::optim::AdamW>(pg, *static_cast<torch::optim::AdamWOptions*>(optionsFor(kind, first).get()));
    EXPNET_CATCH(env, kind, "")
  }

  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeOptimizer",
                                   {InstanceMethod("step", &OptimWrap::Step), InstanceMethod("zeroGrad", &OptimWrap::ZeroGrad),
                                    InstanceMethod("setLr", &OptimWrap::SetLr), InstanceMethod("getLr", &OptimWrap::GetLr),
                                    InstanceMethod("numGroups", &OptimWrap::NumGroups),
                                    InstanceMethod("exportState", &OptimWrap::ExportState),
                                    InstanceMethod("importState", &OptimWrap::ImportState),
                                    InstanceMethod("dispose", &OptimWrap::Dispose)});
    ctor = Napi::Persistent(f);
    exports.Set("NativeOptimizer", f);
  }

  // Every method but dispose() needs the optimizer alive.
  torch::optim::Optimizer& live(const Napi::CallbackInfo& info) {
    if (!opt) throw Napi::Error::New(info.Env(), kind + ": the optimizer was disposed");
    return *opt;
  }
  // Frees the optimiser state (moments, momentum buffers) now; training steps built on it keep it until disposed.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    opt.reset();
    return info.Env().Undefined();
  }

  size_t groupArg(const Napi::CallbackInfo& info) {
    live(info);
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a group index");
    double g = info[0].As<Napi::Number>().DoubleValue();
    if (g < 0 || g >= opt->param_groups().size() || g != static_cast<size_t>(g))
      throw Napi::RangeError::New(info.Env(), "no parameter group " + std::to_string(g));
    return static_cast<size_t>(g);
  }

  Napi::Value Step(const Napi::CallbackInfo& info) {
    live(info);
    EXPNET_TRY
    opt->step();
    EXPNET_CATCH(info.Env(), kind + ".step", "")
    return info.Env().Undefined();
  }
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    live(info).zero_grad();
    return info.Env().Undefined();
  }
  Napi::Value SetLr(const Napi::CallbackInfo& info) {
    size_t g = groupArg(info);
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "setLr(group, lr): lr must be a number");
    opt->param_groups()[g].options().set_lr(info[1].As<Napi::Number>().DoubleValue());
    return info.Env().Undefined();
  }
  Napi::Value GetLr(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), opt->param_groups()[groupArg(info)].options().get_lr());
  }
  Napi::Value NumGroups(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(live(info).param_groups().size()));
  }

  // { "<group>.<index>.<field>": NativeTensor } for every parameter that has state.
  Napi::Value ExportState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    auto& groups = live(info).param_groups();
    for (size_t g = 0; g < groups.size(); ++g) {
      auto& params = groups[g].params();
      for (size_t i = 0; i < params.size(); ++i) {
        auto it = opt->state().find(keyOf(params[i]));
        if (it == opt->state().end()) continue;
        std::string pre = std::to_string(g) + "." + std::to_string(i) + ".";
        auto put = [&](const std::string& name, const at::Tensor& t) {
          if (t.defined()) out.Set(pre + name, TensorWrap::Wrap(env, t.detach().clone()));
        };
        if (kind == "sgd") {
          put("momentum_buffer", static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
        } else if (kind == "adam") {
          auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
          put("exp_avg", s.exp_avg());
          put("exp_avg_sq", s.exp_avg_sq());
          put("max_exp_avg_sq", s.max_exp_avg_sq());
          put("step", torch::tensor({s.step()}, at::kLong));
        } else {
          auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
          put("exp_avg", s.exp_avg());
          put("exp_avg_sq", s.exp_avg_sq());
          put("max_exp_avg_sq", s.max_exp_avg_sq());
          put("step", torch::tensor({s.step()}, at::kLong));
        }
      }
    }
    return out;
  }

  // Inverse of exportState; replaces all state.
  Napi::Value ImportState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(info);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "importState: expected an object of tensors");
    Napi::Object in = info[0].As<Napi::Object>();
    auto get = [&](const std::string& k) -> at::Tensor {
      Napi::Value v = in.Get(k);
      if (v.IsUndefined()) return at::Tensor();
      return TensorWrap::From(v, ("importState " + k).c_str()).detach().clone();
    };
    auto& groups = opt->param_groups();
    opt->state().clear();
    EXPNET_TRY
    for (size_t g = 0; g < groups.size(); ++g) {
      auto& params = groups[g].params();
      for (size_t i = 0; i < params.size(); ++i) {
        std::string pre = std::to_string(g) + "." + std::to_string(i) + ".";
        auto check = [&](const at::Tensor& t, const char* f) {
          if (t.defined() && !t.sizes().equals(params[i].sizes()))
            throw std::runtime_error("state " + pre + f + " has shape " + describe(t) + " but the parameter is " + describe(params[i]));
        };
        if (kind == "sgd") {
          at::Tensor m = get(pre + "momentum_buffer");
          if (!m.defined()) continue;
          check(m, "momentum_buffer");
          auto s = std::make_unique<torch::optim::SGDParamState>();
          s->momentum_buffer(m);
          opt->state()[keyOf(params[i])] = std::move(s);
        } else {
          at::Tensor ea = get(pre + "exp_avg"), eas = get(pre + "exp_avg_sq"), mx = get(pre + "max_exp_avg_sq"), st = get(pre + "step");
          if (!ea.defined()) continue;
          if (!eas.defined() || !st.defined()) throw std::runtime_error("state " + pre + " is incomplete (exp_avg_sq or step missing)");
          check(ea, "exp_avg");
          check(eas, "exp_avg_sq");
          if (kind == "adam") {
            auto s = std::make_unique<torch::optim::AdamParamState>();
            s->step(st.item<int64_t>()).exp_avg(ea).exp_avg_sq(eas);
            if (mx.defined()) s->max_exp_avg_sq(mx);
            opt->state()[keyOf(params[i])] = std::move(s);
          } else {
            auto s = std::make_unique<torch::optim::AdamWParamState>();
            s->step(st.item<int64_t>()).exp_avg(ea).exp_avg_sq(eas);
            if (mx.defined()) s->max_exp_avg_sq(mx);
            opt->state()[keyOf(params[i])] = std::move(s);
          }
        }
      }
    }
    EXPNET_CATCH(env, kind + ".importState", "")
    return env.Undefined();
  }
};
Napi::FunctionReference OptimWrap::ctor;

// clipGradNorm(params, maxNorm) -> total norm before clipping
Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  Tensors params = tensorsFrom(info[0], "clipGradNorm", false);
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "clipGradNorm(params, maxNorm): maxNorm must be a number");
  double norm = 0;
  EXPNET_TRY
  norm = torch::nn::utils::clip_grad_norm_(params, info[1].As<Napi::Number>().DoubleValue());
  EXPNET_CATCH(info.Env(), "clipGradNorm", describeAll(params))
  return Napi::Number::New(info.Env(), norm);
}

}  // namespace

std::shared_ptr<torch::optim::Optimizer> optimizerFrom(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(OptimWrap::ctor.Value()))
    throw Napi::TypeError::New(v.Env(), "expected an optimizer");
  OptimWrap* w = OptimWrap::Unwrap(v.As<Napi::Object>());
  if (!w->opt) throw Napi::Error::New(v.Env(), w->kind + ": the optimizer was disposed");
  return w->opt;
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  OptimWrap::Init(env, exports);
  exports.Set("clipGradNorm", Napi::Function::New(env, ClipGradNorm, "clipGradNorm"));
}

}  // namespace expnet
