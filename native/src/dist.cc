// c10d for JS: a process group (TCPStore rendezvous + ProcessGroupGloo, or ProcessGroupNCCL with a CUDA libtorch
// built with NCCL headers), all-reduce / broadcast / barrier off the JS thread, and libtorch's DDP Reducer
// behind TrainStep's gradient sync. c10d failures (refused, timed out, a peer that died) become JS Errors
// naming this rank, the backend and the master address, never a crash.
#include "dist.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

#ifdef EXPNET_WITH_DIST
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef EXPNET_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace expnet {

namespace {

struct Group {
#ifdef EXPNET_WITH_DIST
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
#endif
  int rank = 0;
  int size = 1;
  std::string backend;
  std::string master;  // host:port
  int64_t timeoutMs = 0;
  std::string who() const {
    return "rank " + std::to_string(rank) + " of " + std::to_string(size) + ", " + backend + ", master " + master;
  }
};

// Never destroyed at exit (a group's threads may be blocked on a dead peer); dropped by destroyProcessGroup().
std::shared_ptr<Group>& current() {
  static auto* g = new std::shared_ptr<Group>();
  return *g;
}
std::mutex g_mu;
bool g_initializing = false;

std::shared_ptr<Group> group(const std::string& what) {
  std::lock_guard<std::mutex> lock(g_mu);
  std::shared_ptr<Group> g = current();
  if (!g) throw std::runtime_error(what + ": no process group (call initProcessGroup first)");
  return g;
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// A c10d failure, with what the user needs to act on it.
[[noreturn]] void fail(const Group& g, const std::string& what, const std::exception& e) {
  std::string msg = e.what();
  if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
  msg = firstLines(msg, 2);
  std::string hint;
  if (has(msg, "closed by peer") || has(msg, "reset by peer") || has(msg, "Broken pipe") || has(msg, "Connection closed"))
    hint = "; a peer process ended (crashed or was killed): the run stops, restart it with --resume";
  else if (has(msg, "imed out") || has(msg, "imeout"))
    hint = "; a peer did not answer within the timeout of " + std::to_string(g.timeoutMs / 1000) + " s (dead, stuck or unreachable)";
  else if (has(msg, "refused"))
    hint = "; nothing listens at the master address (is rank 0 running, are the address and port right?)";
  else if (has(msg, "in use"))
    hint = "; the master port is taken (pick another --master-port)";
  throw std::runtime_error(what + " failed (" + g.who() + "): " + msg + hint);
}

#ifdef EXPNET_WITH_DIST
bool isLoopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

c10::intrusive_ptr<c10d::ProcessGroup> makeProcessGroup(const Group& g, const std::string& host) {
  std::chrono::milliseconds timeout(g.timeoutMs);
  if (g.backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(host)) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, g.rank, g.size, opts);
  }
#ifdef EXPNET_WITH_NCCL
  if (g.backend == "nccl") {  // untested here: needs a CUDA libtorch with NCCL headers (see docs/DISTRIBUTED.md)
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(g.store, g.rank, g.size, opts);
  }
#endif
  throw std::runtime_error("backend '" + g.backend + "' is not available in this build (see distBackends())");
}

#ifdef EXPNET_WITH_NCCL
// NCCL moves CUDA tensors only: values kept on the CPU (metric sums, flags, numbers) travel through this rank's GPU,
// cuda:LOCAL_RANK as the launcher sets it (else rank modulo the GPU count). Untested here (no GPU, see DISTRIBUTED.md).
at::Device ncclDevice(const Group& g) {
  const char* local = std::getenv("LOCAL_RANK");
  int64_t n = static_cast<int64_t>(torch::cuda::device_count());
  int64_t i = local && *local ? std::atoll(local) : g.rank;
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(n > 0 ? i % n : 0));
}
#endif

// One collective per (dtype, device): the tensors are flattened into one buffer, reduced, and copied back.
void flatCollective(const Group& g, const Tensors& ts, const std::string& what,
                    const std::function<c10::intrusive_ptr<c10d::Work>(std::vector<at::Tensor>&)>& op,
                    const std::function<void(at::Tensor&)>& post) {
  torch::NoGradGuard ng;
  std::map<std::string, std::vector<size_t>> byKind;
  for (size_t k = 0; k < ts.size(); ++k) {
    if (!ts[k].defined()) throw std::runtime_error(what + ": tensor " + std::to_string(k) + " is missing");
    byKind[dtypeName(ts[k].scalar_type()) + "@" + ts[k].device().str()].push_back(k);
  }
  for (const auto& kv : byKind) {
    const std::vector<size_t>& idx = kv.second;
    bool single = idx.size() == 1 && ts[idx[0]].is_contiguous();
    at::Tensor flat;
    if (single) {
      flat = ts[idx[0]].view({-1});
    } else {
      Tensors parts;
      for (size_t k : idx) parts.push_back(ts[k].reshape({-1}));
      flat = torch::cat(parts);
    }
    std::vector<at::Tensor> v{flat};
#ifdef EXPNET_WITH_NCCL
    if (g.backend == "nccl" && !flat.is_cuda()) v[0] = flat.to(ncclDevice(g));
#endif
    try {
      op(v)->wait();
    } catch (const std::exception& e) {
      fail(g, what, e);
    }
#ifdef EXPNET_WITH_NCCL
    if (!v[0].is_same(flat)) flat.copy_(v[0]);
#endif
    if (post) post(flat);
    if (single) continue;
    int64_t off = 0;
    for (size_t k : idx) {
      at::Tensor t = ts[k];
      t.copy_(flat.narrow(0, off, t.numel()).view(t.sizes()));
      off += t.numel();
    }
  }
}

class ReducerSync : public GradSync {
 public:
  ReducerSync(std::shared_ptr<Group> g, const Tensors& params, const GradSyncOptions& o) : g_(std::move(g)) {
    const auto cap = static_cast<int64_t>(o.bucketMb * 1024 * 1024);
    const int64_t first = std::min<int64_t>(c10d::kDefaultFirstBucketBytes, cap);
    std::vector<bool> sparse(params.size(), false);
    try {
      // Every rank must hold the same parameter shapes in the same order (a clear error instead of garbage).
      c10d::verify_params_across_processes(g_->pg, params, c10::nullopt);
      auto assigned = c10d::compute_bucket_assignment_by_size(params, {static_cast<size_t>(first), static_cast<size_t>(cap)}, sparse);
      // Gradients arrive roughly in reverse parameter order: the last parameters' bucket goes first (as in DDP).
      std::vector<std::vector<size_t>> buckets = std::get<0>(assigned);
      std::vector<size_t> limits = std::get<1>(assigned);
      std::reverse(buckets.begin(), buckets.end());
      std::reverse(limits.begin(), limits.end());
      reducer_ = std::make_unique<c10d::Reducer>(params, buckets, limits, g_->pg, sparse, cap, o.findUnused, false,
                                                 std::unordered_map<size_t, std::string>{}, first);
    } catch (const std::exception& e) {
      fail(*g_, "gradient sync setup", e);
    }
  }
  void prepare(const at::Tensor& loss) override {
    try {
      reducer_->rebuild_buckets();  // once, after the first step: buckets follow the measured gradient order
      reducer_->prepare_for_backward({loss});
    } catch (const std::exception& e) {
      fail(*g_, "gradient all-reduce", e);
    }
  }
  [[noreturn]] void rethrow(const std::exception& e) override { fail(*g_, "gradient all-reduce", e); }

 private:
  std::shared_ptr<Group> g_;
  std::unique_ptr<c10d::Reducer> reducer_;
};
#endif

#ifndef EXPNET_WITH_DIST
[[noreturn]] void notBuilt(const std::string& what) {
  throw std::runtime_error(what + ": this addon was built without c10d (install libgloo-dev, or use a libtorch with "
                                  "gloo headers, and run `npm run build:native`)");
}
#endif

// Runs `body` on a libuv worker thread; the promise resolves with `result()` or rejects with the error.
class DistWorker : public Napi::AsyncWorker {
 public:
  DistWorker(Napi::Env env, std::function<void()> body, std::function<Napi::Value(Napi::Env)> result)
      : Napi::AsyncWorker(env), body_(std::move(body)), result_(std::move(result)), deferred_(Napi::Promise::Deferred::New(env)) {}
  static Napi::Promise start(Napi::Env env, std::function<void()> body, std::function<Napi::Value(Napi::Env)> result = nullptr) {
    auto* w = new DistWorker(env, std::move(body), std::move(result));
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }
  void Execute() override {
    try {
      body_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::function<void()> body_;
  std::function<Napi::Value(Napi::Env)> result_;
  Napi::Promise::Deferred deferred_;
};

int64_t intField(const Napi::Object& o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::TypeError::New(o.Env(), std::string("initProcessGroup: '") + key + "' must be an integer from " +
                                            std::to_string(lo) + " to " + std::to_string(hi));
  return static_cast<int64_t>(d);
}

// initProcessGroup({ rank, worldSize, masterAddr, masterPort, timeoutMs, backend }): Promise<void>
Napi::Value InitProcessGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "initProcessGroup: expected an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto g = std::make_shared<Group>();
  g->size = static_cast<int>(intField(o, "worldSize", 1, 1 << 20));
  g->rank = static_cast<int>(intField(o, "rank", 0, g->size - 1));
  const int64_t port = intField(o, "masterPort", 1, 65535);
  g->timeoutMs = intField(o, "timeoutMs", 1, int64_t(1) << 40);
  if (!o.Get("masterAddr").IsString() || !o.Get("backend").IsString())
    throw Napi::TypeError::New(env, "initProcessGroup: 'masterAddr' and 'backend' must be strings");
  const std::string host = o.Get("masterAddr").As<Napi::String>().Utf8Value();
  g->backend = o.Get("backend").As<Napi::String>().Utf8Value();
  g->master = host + ":" + std::to_string(port);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (current() || g_initializing) throw Napi::Error::New(env, "initProcessGroup: a process group is already initialised (" + (current() ? current()->who() : std::string("starting")) + ")");
    g_initializing = true;
  }
  auto body = [g, host, port]() {
    struct Done {
      ~Done() {
        std::lock_guard<std::mutex> lock(g_mu);
        g_initializing = false;
      }
    } done;
#ifdef EXPNET_WITH_DIST
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(port);
      so.isServer = g->rank == 0;
      so.numWorkers = static_cast<size_t>(g->size);
      so.waitWorkers = true;
      so.timeout = std::chrono::milliseconds(g->timeoutMs);
      g->store = c10::make_intrusive<c10d::TCPStore>(host, so);
    } catch (const std::exception& e) {
      fail(*g, "rendezvous (TCPStore)", e);
    }
    try {
      g->pg = makeProcessGroup(*g, host);
    } catch (const std::exception& e) {
      fail(*g, "process group", e);
    }
    std::lock_guard<std::mutex> lock(g_mu);
    current() = g;
#else
    notBuilt("initProcessGroup");
#endif
  };
  return DistWorker::start(env, body);
}

Napi::Value DestroyProcessGroup(const Napi::CallbackInfo& info) {
  std::shared_ptr<Group> g;
  { std::lock_guard<std::mutex> lock(g_mu); g.swap(current()); }
  g.reset();  // joins the group's threads once no step holds it
  return info.Env().Undefined();
}

Napi::Value ProcessGroupInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(g_mu);
  std::shared_ptr<Group> g = current();
  if (!g) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rank", g->rank);
  o.Set("worldSize", g->size);
  o.Set("backend", g->backend);
  o.Set("master", g->master);
  o.Set("timeoutMs", static_cast<double>(g->timeoutMs));
  return o;
}

Napi::Value DistBackends(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
#ifdef EXPNET_WITH_DIST
  a.Set(0u, "gloo");
#ifdef EXPNET_WITH_NCCL
  a.Set(1u, "nccl");
#endif
#endif
  return a;
}

// allReduce(tensors, op: 'sum' | 'avg' | 'max' | 'min'): Promise<void>, in place
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Tensors ts = tensorsFrom(info[0], "allReduce", false);
  std::string op = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "sum";
  if (op != "sum" && op != "avg" && op != "max" && op != "min")
    throw Napi::TypeError::New(info.Env(), "allReduce: op must be sum, avg, max or min, got " + op);
  for (const auto& t : ts)
    if (op == "avg" && !t.is_floating_point()) throw Napi::TypeError::New(info.Env(), "allReduce avg: floating-point tensors only, got " + describe(t));
  return DistWorker::start(info.Env(), [ts, op]() {
#ifdef EXPNET_WITH_DIST
    auto g = group("allReduce");
    c10d::AllreduceOptions o;
    o.reduceOp = op == "max" ? c10d::ReduceOp::MAX : op == "min" ? c10d::ReduceOp::MIN : c10d::ReduceOp::SUM;
    const double n = g->size;
    flatCollective(*g, ts, "allReduce", [&](std::vector<at::Tensor>& v) { return g->pg->allreduce(v, o); },
                   [&](at::Tensor& t) {
                     if (op == "avg") t.div_(n);
                   });
#else
    notBuilt("allReduce");
#endif
  });
}

// broadcast(tensors, root): Promise<void>, in place
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Tensors ts = tensorsFrom(info[0], "broadcast", false);
  int64_t root = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 0;
  return DistWorker::start(info.Env(), [ts, root]() {
#ifdef EXPNET_WITH_DIST
    auto g = group("broadcast");
    if (root < 0 || root >= g->size) throw std::runtime_error("broadcast: root must be a rank from 0 to " + std::to_string(g->size - 1));
    c10d::BroadcastOptions o;
    o.rootRank = root;
    flatCollective(*g, ts, "broadcast", [&](std::vector<at::Tensor>& v) { return g->pg->broadcast(v, o); }, nullptr);
#else
    notBuilt("broadcast");
#endif
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return DistWorker::start(info.Env(), []() {
#ifdef EXPNET_WITH_DIST
    auto g = group("barrier");
    try {
      g->pg->barrier()->wait();
    } catch (const std::exception& e) {
      fail(*g, "barrier", e);
    }
#else
    notBuilt("barrier");
#endif
  });
}

}  // namespace

std::shared_ptr<GradSync> makeGradSync(const Tensors& params, const GradSyncOptions& o) {
#ifdef EXPNET_WITH_DIST
  auto g = group("gradient sync");
  Tensors trainable;
  for (const auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  if (trainable.empty()) throw std::runtime_error("gradient sync: the optimizer holds no trainable parameter");
  return std::make_shared<ReducerSync>(g, trainable, o);
#else
  notBuilt("gradient sync");
#endif
}

void InitDist(Napi::Env env, Napi::Object exports) {
  exports.Set("initProcessGroup", Napi::Function::New(env, InitProcessGroup, "initProcessGroup"));
  exports.Set("destroyProcessGroup", Napi::Function::New(env, DestroyProcessGroup, "destroyProcessGroup"));
  exports.Set("processGroupInfo", Napi::Function::New(env, ProcessGroupInfo, "processGroupInfo"));
  exports.Set("distBackends", Napi::Function::New(env, DistBackends, "distBackends"));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce, "allReduce"));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast, "broadcast"));
  exports.Set("barrier", Napi::Function::New(env, Barrier, "barrier"));
}

}  // namespace expnet
