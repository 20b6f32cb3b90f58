// Op dispatch with tracing, and Programs: a traced op sequence that replays natively, synchronously or
// off the JS thread (AsyncWorker), alone (inference) or as a whole training step (forward, backward, update).
#include <unordered_map>

#include "common.h"
#include "dist.h"

namespace expnet {

namespace {

struct Ref {
  enum class Kind { None, Slot, Const };
  Kind kind = Kind::None;
  int index = 0;
};

struct Step {
  const OpDef* def;
  std::string name;
  std::vector<Ref> in;
  Attrs attrs;
  std::vector<int> out;
};

struct Tape {
  std::vector<Step> steps;
  Tensors consts;
  int nInputs = 0;
  int nSlots = 0;
  std::vector<Ref> outputs;
  AutocastState autocast;  // the mixed-precision state the trace was recorded under; every replay sets it again
};

struct Tracer {
  Tape tape;
  std::unordered_map<const c10::TensorImpl*, int> slots;
  Tensors keep;  // keeps traced tensors alive so their addresses stay unique while recording

  Ref ref(const at::Tensor& t) {
    if (!t.defined()) return Ref{};
    auto it = slots.find(t.unsafeGetTensorImpl());
    if (it != slots.end()) return Ref{Ref::Kind::Slot, it->second};
    tape.consts.push_back(t);
    return Ref{Ref::Kind::Const, static_cast<int>(tape.consts.size()) - 1};
  }
  int addSlot(const at::Tensor& t) {
    int s = tape.nSlots++;
    slots[t.unsafeGetTensorImpl()] = s;
    keep.push_back(t);
    return s;
  }
};

Tracer* g_tracer = nullptr;

Tensors replay(const Tape& tape, const Tensors& inputs) {
  if (static_cast<int>(inputs.size()) != tape.nInputs)
    throw std::runtime_error("the program takes " + std::to_string(tape.nInputs) + " inputs, got " +
                             std::to_string(inputs.size()));
  AutocastGuard precision(tape.autocast);
  Tensors slots(tape.nSlots);
  for (size_t k = 0; k < inputs.size(); ++k) slots[k] = inputs[k];
  auto get = [&](const Ref& r) -> at::Tensor {
    if (r.kind == Ref::Kind::Slot) return slots[r.index];
    if (r.kind == Ref::Kind::Const) return tape.consts[r.index];
    return at::Tensor();
  };
  for (const Step& s : tape.steps) {
    Tensors in;
    in.reserve(s.in.size());
    for (const Ref& r : s.in) in.push_back(get(r));
    Tensors out;
    try {
      out = s.def->fn(in, s.attrs);
    } catch (const c10::Error& e) {
      throw std::runtime_error(s.name + ": " + firstLines(e.what_without_backtrace(), 2) + " (inputs: " + describeAll(in) + ")");
    }
    for (size_t k = 0; k < s.out.size() && k < out.size(); ++k) slots[s.out[k]] = std::move(out[k]);
  }
  Tensors result;
  for (const Ref& r : tape.outputs) result.push_back(get(r));
  return result;
}

}  // namespace

Tensors runOp(const std::string& name, const OpDef& def, const Tensors& in, const Attrs& attrs) {
  int n = static_cast<int>(in.size());
  if (n < def.minInputs || (def.maxInputs >= 0 && n > def.maxInputs)) {
    std::string want = def.maxInputs < 0 ? "at least " + std::to_string(def.minInputs)
                       : def.minInputs == def.maxInputs ? std::to_string(def.minInputs)
                                                        : std::to_string(def.minInputs) + " to " + std::to_string(def.maxInputs);
    throw std::runtime_error("expected " + want + " input tensors, got " + std::to_string(n));
  }
  for (int k = 0; k < n; ++k) {
    bool optional = k < 32 && (def.optionalMask >> k) & 1u;
    if (!in[k].defined() && !optional) throw std::runtime_error("input " + std::to_string(k) + " is missing (null)");
  }
  // Omitted optional trailing inputs become undefined tensors: op bodies index up to maxInputs - 1.
  Tensors args(in);
  if (def.maxInputs > n) args.resize(def.maxInputs);
  Tensors out = def.fn(args, attrs);
  if (g_tracer) {
    Step s{&def, name, {}, attrs, {}};
    for (const auto& t : args) s.in.push_back(g_tracer->ref(t));
    for (const auto& t : out) s.out.push_back(g_tracer->addSlot(t));
    g_tracer->tape.steps.push_back(std::move(s));
  }
  return out;
}

std::shared_ptr<torch::optim::Optimizer> optimizerFrom(const Napi::Value& v);

namespace {

class ProgramWrap : public Napi::ObjectWrap<ProgramWrap> {
 public:
  static Napi::FunctionReference ctor;
  std::shared_ptr<Tape> tape;
  std::shared_ptr<std::atomic<bool>> busy = std::make_shared<std::atomic<bool>>(false);
  explicit ProgramWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProgramWrap>(info) {}

  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeProgram",
                                   {InstanceMethod("run", &ProgramWrap::Run), InstanceMethod("runAsync", &ProgramWrap::RunAsync),
                                    InstanceMethod("numSteps", &ProgramWrap::NumSteps), InstanceMethod("dispose", &ProgramWrap::Dispose),
                                    InstanceMethod("describe", &ProgramWrap::Describe)});
    ctor = Napi::Persistent(f);
    exports.Set("NativeProgram", f);
  }
  static ProgramWrap* From(const Napi::Value& v) {
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(ctor.Value()))
      throw Napi::TypeError::New(v.Env(), "expected a program");
    ProgramWrap* p = Unwrap(v.As<Napi::Object>());
    if (!p->tape) throw Napi::Error::New(v.Env(), "the program was disposed");
    return p;
  }
  Napi::Value NumSteps(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), tape ? static_cast<double>(tape->steps.size()) : 0);
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    tape.reset();
    return info.Env().Undefined();
  }
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunAsync(const Napi::CallbackInfo& info);
  Napi::Value Describe(const Napi::CallbackInfo& info);
};

Napi::Value attrToJs(Napi::Env env, const Attr& a) {
  switch (a.kind) {
    case Attr::Kind::Num: return Napi::Number::New(env, a.num);
    case Attr::Kind::Bool: return Napi::Boolean::New(env, a.flag);
    case Attr::Kind::Str: return Napi::String::New(env, a.str);
    case Attr::Kind::Ints: {
      Napi::Array l = Napi::Array::New(env, a.ints.size());
      for (size_t k = 0; k < a.ints.size(); ++k) l.Set(k, Napi::Number::New(env, static_cast<double>(a.ints[k])));
      return l;
    }
    default: return env.Null();
  }
}

Napi::Value refToJs(Napi::Env env, const Ref& r) {
  if (r.kind == Ref::Kind::None) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", r.kind == Ref::Kind::Slot ? "slot" : "const");
  o.Set("index", r.index);
  return o;
}

// { inputs: n, steps: [{ op, inputs: Ref[], attrs, outputs: slot[] }], consts: NativeTensor[], outputs: Ref[] }
Napi::Value ProgramWrap::Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProgramWrap* self = From(info.This());
  const Tape& t = *self->tape;
  Napi::Object out = Napi::Object::New(env);
  out.Set("inputs", t.nInputs);
  Napi::Array steps = Napi::Array::New(env, t.steps.size());
  for (size_t k = 0; k < t.steps.size(); ++k) {
    const Step& s = t.steps[k];
    Napi::Object o = Napi::Object::New(env);
    o.Set("op", s.name);
    Napi::Array ins = Napi::Array::New(env, s.in.size());
    for (size_t j = 0; j < s.in.size(); ++j) ins.Set(j, refToJs(env, s.in[j]));
    o.Set("inputs", ins);
    Napi::Array attrs = Napi::Array::New(env, s.attrs.items.size());
    for (size_t j = 0; j < s.attrs.items.size(); ++j) attrs.Set(j, attrToJs(env, s.attrs.items[j]));
    o.Set("attrs", attrs);
    Napi::Array outs = Napi::Array::New(env, s.out.size());
    for (size_t j = 0; j < s.out.size(); ++j) outs.Set(j, s.out[j]);
    o.Set("outputs", outs);
    steps.Set(k, o);
  }
  out.Set("steps", steps);
  out.Set("consts", wrapAll(env, t.consts));
  Napi::Array outs = Napi::Array::New(env, t.outputs.size());
  for (size_t j = 0; j < t.outputs.size(); ++j) outs.Set(j, refToJs(env, t.outputs[j]));
  out.Set("outputs", outs);
  out.Set("autocast", t.autocast.cpu ? dtypeName(t.autocast.cpuDtype) : t.autocast.cuda ? dtypeName(t.autocast.cudaDtype) : "none");
  return out;
}
Napi::FunctionReference ProgramWrap::ctor;

// A unit of work on a tape: replay, optionally followed by backward + optimiser step.
struct Job {
  std::shared_ptr<Tape> tape;
  Tensors inputs;
  bool noGrad = false;
  std::shared_ptr<torch::optim::Optimizer> opt;  // kept alive by the job while it runs
  double clipNorm = 0;
  std::shared_ptr<GradSync> sync;  // data parallel: gradients averaged across the process group in backward
  Tensors run() const {
    if (!opt) {
      if (noGrad) {
        torch::NoGradGuard ng;
        return replay(*tape, inputs);
      }
      return replay(*tape, inputs);
    }
    opt->zero_grad();
    Tensors out = replay(*tape, inputs);
    if (out.empty() || out[0].numel() != 1) throw std::runtime_error("a training step's first output must be a scalar loss");
    if (!out[0].requires_grad()) throw std::runtime_error("the loss does not require grad: no parameter is trainable");
    if (sync) {
      sync->prepare(out[0]);
      try {
        out[0].backward();
      } catch (const std::exception& e) {
        sync->rethrow(e);
      }
    } else {
      out[0].backward();
    }
    if (clipNorm > 0) {
      Tensors params;
      for (auto& g : opt->param_groups())
        for (auto& p : g.params()) params.push_back(p);
      torch::nn::utils::clip_grad_norm_(params, clipNorm);
    }
    opt->step();
    for (auto& t : out) t = t.detach();
    return out;
  }
};

class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, Job job, std::shared_ptr<std::atomic<bool>> busy, Napi::ObjectReference owner)
      : Napi::AsyncWorker(env), job_(std::move(job)), busy_(std::move(busy)), owner_(std::move(owner)),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      out_ = job_.run();
    } catch (const c10::Error& e) {
      SetError(firstLines(e.what_without_backtrace(), 3));
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    *busy_ = false;
    deferred_.Resolve(wrapAll(Env(), out_));
  }
  void OnError(const Napi::Error& e) override {
    *busy_ = false;
    deferred_.Reject(Napi::Error::New(Env(), "program run failed: " + e.Message()).Value());
  }

 private:
  Job job_;
  Tensors out_;
  std::shared_ptr<std::atomic<bool>> busy_;
  Napi::ObjectReference owner_;  // keeps the program / step object alive while running
  Napi::Promise::Deferred deferred_;
};

Napi::Value runJob(const Napi::CallbackInfo& info, Job job, const std::shared_ptr<std::atomic<bool>>& busy, bool async) {
  Napi::Env env = info.Env();
  if (busy->exchange(true)) throw Napi::Error::New(env, "this program is already running (await the previous run first)");
  if (!async) {
    Tensors out;
    try {
      out = job.run();
    } catch (const std::exception& e) {
      *busy = false;
      throwJs(env, "program run", e, describeAll(job.inputs));
    }
    *busy = false;
    return wrapAll(env, out);
  }
  auto* w = new JobWorker(env, std::move(job), busy, Napi::Persistent(info.This().As<Napi::Object>()));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

bool flagArg(const Napi::CallbackInfo& info, size_t k) {
  return info.Length() > k && info[k].IsBoolean() && info[k].As<Napi::Boolean>().Value();
}

Napi::Value ProgramWrap::Run(const Napi::CallbackInfo& info) {
  ProgramWrap* self = From(info.This());
  Job job{self->tape, tensorsFrom(info[0], "program.run", false), flagArg(info, 1)};
  return runJob(info, std::move(job), self->busy, false);
}

Napi::Value ProgramWrap::RunAsync(const Napi::CallbackInfo& info) {
  ProgramWrap* self = From(info.This());
  Job job{self->tape, tensorsFrom(info[0], "program.runAsync", false), flagArg(info, 1)};
  return runJob(info, std::move(job), self->busy, true);
}

// new NativeTrainStep(program, optimizer, clipNorm, gradSync?: { bucketMb, findUnused })
class TrainStepWrap : public Napi::ObjectWrap<TrainStepWrap> {
 public:
  static Napi::FunctionReference ctor;
  std::shared_ptr<Tape> tape;
  std::shared_ptr<torch::optim::Optimizer> opt;
  double clipNorm = 0;
  std::shared_ptr<GradSync> sync;
  std::shared_ptr<std::atomic<bool>> busy = std::make_shared<std::atomic<bool>>(false);

  explicit TrainStepWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainStepWrap>(info) {
    tape = ProgramWrap::From(info[0])->tape;
    opt = optimizerFrom(info[1]);
    if (info.Length() > 2 && info[2].IsNumber()) clipNorm = info[2].As<Napi::Number>().DoubleValue();
    if (info.Length() > 3 && info[3].IsObject()) {
      GradSyncOptions o = gradSyncOptionsFrom(info[3]);
      Tensors params;
      for (auto& g : opt->param_groups())
        for (auto& p : g.params()) params.push_back(p);
      EXPNET_TRY
      sync = makeGradSync(params, o);
      EXPNET_CATCH(info.Env(), "trainStep", "")
    }
  }
  static void Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "NativeTrainStep",
                                   {InstanceMethod("step", &TrainStepWrap::Step), InstanceMethod("stepAsync", &TrainStepWrap::StepAsync),
                                    InstanceMethod("dispose", &TrainStepWrap::Dispose)});
    ctor = Napi::Persistent(f);
    exports.Set("NativeTrainStep", f);
  }
  // Releases the tape, the optimiser share and the gradient sync (a step in flight keeps its own copies).
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    tape.reset();
    opt.reset();
    sync.reset();
    return info.Env().Undefined();
  }
  void live(const Napi::CallbackInfo& info) const {
    if (!tape) throw Napi::Error::New(info.Env(), "the training step was disposed");
  }
  Napi::Value Step(const Napi::CallbackInfo& info) {
    live(info);
    Job job{tape, tensorsFrom(info[0], "trainStep.step", false), false, opt, clipNorm, sync};
    return runJob(info, std::move(job), busy, false);
  }
  Napi::Value StepAsync(const Napi::CallbackInfo& info) {
    live(info);
    Job job{tape, tensorsFrom(info[0], "trainStep.stepAsync", false), false, opt, clipNorm, sync};
    return runJob(info, std::move(job), busy, true);
  }
};
Napi::FunctionReference TrainStepWrap::ctor;

Napi::Value TraceBegin(const Napi::CallbackInfo& info) {
  if (g_tracer) throw Napi::Error::New(info.Env(), "traceBegin: a trace is already being recorded");
  Tensors inputs = tensorsFrom(info[0], "traceBegin", false);
  g_tracer = new Tracer();
  g_tracer->tape.nInputs = static_cast<int>(inputs.size());
  g_tracer->tape.autocast = currentAutocast();
  for (const auto& t : inputs) g_tracer->addSlot(t);
  return info.Env().Undefined();
}

Napi::Value TraceEnd(const Napi::CallbackInfo& info) {
  if (!g_tracer) throw Napi::Error::New(info.Env(), "traceEnd: no trace is being recorded");
  std::unique_ptr<Tracer> tr(g_tracer);
  g_tracer = nullptr;
  Tensors outputs = tensorsFrom(info[0], "traceEnd", false);
  for (const auto& t : outputs) tr->tape.outputs.push_back(tr->ref(t));
  Napi::Object obj = ProgramWrap::ctor.New({});
  ProgramWrap::Unwrap(obj)->tape = std::make_shared<Tape>(std::move(tr->tape));
  return obj;
}

Napi::Value TraceAbort(const Napi::CallbackInfo& info) {
  delete g_tracer;
  g_tracer = nullptr;
  return info.Env().Undefined();
}

}  // namespace

void InitProgram(Napi::Env env, Napi::Object exports) {
  ProgramWrap::Init(env, exports);
  TrainStepWrap::Init(env, exports);
  exports.Set("traceBegin", Napi::Function::New(env, TraceBegin, "traceBegin"));
  exports.Set("traceEnd", Napi::Function::New(env, TraceEnd, "traceEnd"));
  exports.Set("traceAbort", Napi::Function::New(env, TraceAbort, "traceAbort"));
}

}  // namespace expnet
