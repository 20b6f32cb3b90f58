// Ops: creation, elementwise arithmetic, comparisons, reductions, shape manipulation.
#include "common.h"

namespace expnet {

#define OP(...) [](const Tensors& x, const Attrs& a) -> Tensors { __VA_ARGS__ }
#define ONE(...) OP(return Tensors{__VA_ARGS__};)

static torch::TensorOptions creationOptions(const Attrs& a, size_t dtypeAt) {
  auto o = torch::TensorOptions().dtype(a.has(dtypeAt) ? parseDType(a.s(dtypeAt)) : at::kFloat);
  if (a.has(dtypeAt + 1)) o = o.device(torch::Device(a.s(dtypeAt + 1)));
  return o;
}

static at::IntArrayRef dims(const std::vector<int64_t>& v) { return at::IntArrayRef(v); }

static std::vector<int64_t> optDims(const Attrs& a, size_t k) {
  if (!a.has(k)) return {};
  if (a.at(k).kind == Attr::Kind::Num) return {a.i(k)};
  return a.ints(k);
}

static at::Scalar scalar(const Attrs& a, size_t k) { return at::Scalar(a.f(k)); }

void registerMathOps() {
  // ---- creation: attrs [shape, dtype?, device?] ----
  registerOp("zeros", ONE(torch::zeros(a.ints(0), creationOptions(a, 1))), 0, 0);
  registerOp("ones", ONE(torch::ones(a.ints(0), creationOptions(a, 1))), 0, 0);
  registerOp("full", ONE(torch::full(a.ints(0), scalar(a, 1), creationOptions(a, 2))), 0, 0);
  registerOp("rand", ONE(torch::rand(a.ints(0), creationOptions(a, 1))), 0, 0);
  registerOp("randn", ONE(torch::randn(a.ints(0), creationOptions(a, 1))), 0, 0);
  // [low, high, shape, dtype?, device?]
  registerOp("randint", OP({
    auto o = creationOptions(a, 3);
    if (!a.has(3)) o = o.dtype(at::kLong);
    return Tensors{torch::randint(a.i(0), a.i(1), a.ints(2), o)};
  }), 0, 0);
  registerOp("randperm", OP({
    auto o = creationOptions(a, 1);
    if (!a.has(1)) o = o.dtype(at::kLong);
    return Tensors{torch::randperm(a.i(0), o)};
  }), 0, 0);
  // [start, end, step, dtype?, device?]
  registerOp("arange", ONE(torch::arange(scalar(a, 0), scalar(a, 1), scalar(a, 2), creationOptions(a, 3))), 0, 0);
  registerOp("eye", ONE(torch::eye(a.i(0), creationOptions(a, 1))), 0, 0);

  // ---- elementwise ----
  registerOp("add", ONE(x[0] + x[1]), 2, 2);
  registerOp("sub", ONE(x[0] - x[1]), 2, 2);
  registerOp("mul", ONE(x[0] * x[1]), 2, 2);
  registerOp("div", ONE(x[0] / x[1]), 2, 2);
  registerOp("pow", ONE(torch::pow(x[0], x[1])), 2, 2);
  registerOp("maximum", ONE(torch::maximum(x[0], x[1])), 2, 2);
  registerOp("minimum", ONE(torch::minimum(x[0], x[1])), 2, 2);
  registerOp("add_scalar", ONE(x[0] + scalar(a, 0)), 1, 1);
  registerOp("sub_scalar", ONE(x[0] - scalar(a, 0)), 1, 1);
  registerOp("rsub_scalar", ONE(scalar(a, 0) - x[0]), 1, 1);
  registerOp("mul_scalar", ONE(x[0] * scalar(a, 0)), 1, 1);
  registerOp("div_scalar", ONE(x[0] / scalar(a, 0)), 1, 1);
  registerOp("pow_scalar", ONE(torch::pow(x[0], scalar(a, 0))), 1, 1);
  registerOp("neg", ONE(-x[0]), 1, 1);
  registerOp("abs", ONE(torch::abs(x[0])), 1, 1);
  registerOp("exp", ONE(torch::exp(x[0])), 1, 1);
  registerOp("log", ONE(torch::log(x[0])), 1, 1);
  registerOp("sqrt", ONE(torch::sqrt(x[0])), 1, 1);
  registerOp("square", ONE(x[0] * x[0]), 1, 1);
  registerOp("sign", ONE(torch::sign(x[0])), 1, 1);
  // [min|null, max|null]
  registerOp("clamp", OP({
    c10::optional<at::Scalar> lo, hi;
    if (a.has(0)) lo = scalar(a, 0);
    if (a.has(1)) hi = scalar(a, 1);
    return Tensors{torch::clamp(x[0], lo, hi)};
  }), 1, 1);
  registerOp("where", ONE(torch::where(x[0], x[1], x[2])), 3, 3);
  registerOp("eq", ONE(torch::eq(x[0], x[1])), 2, 2);
  registerOp("ne", ONE(torch::ne(x[0], x[1])), 2, 2);
  registerOp("lt", ONE(torch::lt(x[0], x[1])), 2, 2);
  registerOp("le", ONE(torch::le(x[0], x[1])), 2, 2);
  registerOp("gt", ONE(torch::gt(x[0], x[1])), 2, 2);
  registerOp("ge", ONE(torch::ge(x[0], x[1])), 2, 2);
  registerOp("eq_scalar", ONE(torch::eq(x[0], scalar(a, 0))), 1, 1);
  registerOp("gt_scalar", ONE(torch::gt(x[0], scalar(a, 0))), 1, 1);
  registerOp("lt_scalar", ONE(torch::lt(x[0], scalar(a, 0))), 1, 1);
  registerOp("logical_not", ONE(torch::logical_not(x[0])), 1, 1);
  registerOp("matmul", ONE(torch::matmul(x[0], x[1])), 2, 2);

  // ---- reductions: [dims|null, keepdim] ----
  registerOp("sum", OP({
    auto d = optDims(a, 0);
    if (d.empty()) return Tensors{torch::sum(x[0])};
    return Tensors{torch::sum(x[0], dims(d), a.has(1) && a.b(1))};
  }), 1, 1);
  registerOp("mean", OP({
    auto d = optDims(a, 0);
    if (d.empty()) return Tensors{torch::mean(x[0])};
    return Tensors{torch::mean(x[0], dims(d), a.has(1) && a.b(1))};
  }), 1, 1);
  // [dims|null, keepdim, unbiased]
  registerOp("var", OP({
    auto d = optDims(a, 0);
    bool unbiased = !a.has(2) || a.b(2);
    if (d.empty()) return Tensors{torch::var(x[0], unbiased)};
    return Tensors{torch::var(x[0], dims(d), unbiased, a.has(1) && a.b(1))};
  }), 1, 1);
  registerOp("std", OP({
    auto d = optDims(a, 0);
    bool unbiased = !a.has(2) || a.b(2);
    if (d.empty()) return Tensors{torch::std(x[0], unbiased)};
    return Tensors{torch::std(x[0], dims(d), unbiased, a.has(1) && a.b(1))};
  }), 1, 1);
  // max/min: [] -> value; [dim, keepdim] -> values, indices
  registerOp("max", OP({
    if (!a.has(0)) return Tensors{torch::max(x[0])};
    auto r = torch::max(x[0], a.i(0), a.has(1) && a.b(1));
    return Tensors{std::get<0>(r), std::get<1>(r)};
  }), 1, 1);
  registerOp("min", OP({
    if (!a.has(0)) return Tensors{torch::min(x[0])};
    auto r = torch::min(x[0], a.i(0), a.has(1) && a.b(1));
    return Tensors{std::get<0>(r), std::get<1>(r)};
  }), 1, 1);
  registerOp("argmax", OP({
    c10::optional<int64_t> d;
    if (a.has(0)) d = a.i(0);
    return Tensors{torch::argmax(x[0], d, a.has(1) && a.b(1))};
  }), 1, 1);
  // [k, dim, largest, sorted]
  registerOp("topk", OP({
    auto r = torch::topk(x[0], a.i(0), a.has(1) ? a.i(1) : -1, !a.has(2) || a.b(2), !a.has(3) || a.b(3));
    return Tensors{std::get<0>(r), std::get<1>(r)};
  }), 1, 1);
  registerOp("sort", OP({
    auto r = torch::sort(x[0], a.has(0) ? a.i(0) : -1, a.has(1) && a.b(1));
    return Tensors{std::get<0>(r), std::get<1>(r)};
  }), 1, 1);
  registerOp("softmax", ONE(torch::softmax(x[0], a.i(0))), 1, 1);
  registerOp("log_softmax", ONE(torch::log_softmax(x[0], a.i(0))), 1, 1);

  // ---- shape ----
  registerOp("reshape", ONE(x[0].reshape(a.ints(0))), 1, 1);
  registerOp("view", ONE(x[0].view(a.ints(0))), 1, 1);
  registerOp("permute", ONE(x[0].permute(a.ints(0))), 1, 1);
  registerOp("transpose", ONE(x[0].transpose(a.i(0), a.i(1))), 1, 1);
  registerOp("flatten", ONE(x[0].flatten(a.has(0) ? a.i(0) : 0, a.has(1) ? a.i(1) : -1)), 1, 1);
  registerOp("squeeze", OP({
    if (!a.has(0)) return Tensors{x[0].squeeze()};
    return Tensors{x[0].squeeze(a.i(0))};
  }), 1, 1);
  registerOp("unsqueeze", ONE(x[0].unsqueeze(a.i(0))), 1, 1);
  registerOp("expand", ONE(x[0].expand(a.ints(0))), 1, 1);
  // attr 0: 'channels_last' (NHWC strides for 4-D tensors: oneDNN's native bf16 layout) or 'contiguous' (default).
  // As PyTorch's t.to(memory_format=...): a tensor whose layout is ambiguous (one channel, e.g. [32,1,3,3]) gets
  // the asked-for strides explicitly, so that the convolutions it feeds pick that layout too.
  registerOp("contiguous", OP({
    std::string f = a.has(0) ? a.s(0) : "contiguous";
    if (f != "contiguous" && f != "channels_last")
      throw std::runtime_error("contiguous: memory format must be 'contiguous' or 'channels_last', got '" + f + "'");
    if (x[0].dim() != 4) return Tensors{x[0].contiguous()};
    auto mf = f == "channels_last" ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    return Tensors{x[0].to(x[0].options(), false, false, mf)};
  }), 1, 1);
  registerOp("clone", ONE(x[0].clone()), 1, 1);
  registerOp("detach", ONE(x[0].detach()), 1, 1);
  registerOp("cat", ONE(torch::cat(x, a.has(0) ? a.i(0) : 0)), 1, -1);
  registerOp("stack", ONE(torch::stack(x, a.has(0) ? a.i(0) : 0)), 1, -1);
  // [dim, start, end|null, step]
  registerOp("slice", OP({
    c10::optional<int64_t> end;
    if (a.has(2)) end = a.i(2);
    return Tensors{x[0].slice(a.i(0), a.has(1) ? c10::optional<int64_t>(a.i(1)) : c10::nullopt, end, a.has(3) ? a.i(3) : 1)};
  }), 1, 1);
  registerOp("narrow", ONE(x[0].narrow(a.i(0), a.i(1), a.i(2))), 1, 1);
  registerOp("index_select", ONE(torch::index_select(x[0], a.i(0), x[1])), 2, 2);
  registerOp("gather", ONE(torch::gather(x[0], a.i(0), x[1])), 2, 2);
  registerOp("masked_select", ONE(torch::masked_select(x[0], x[1])), 2, 2);
  registerOp("flip", ONE(torch::flip(x[0], a.ints(0))), 1, 1);
  registerOp("repeat", ONE(x[0].repeat(a.ints(0))), 1, 1);
  registerOp("one_hot", ONE(torch::one_hot(x[0], a.i(0))), 1, 1);
  // [dtype, device?]
  registerOp("to", OP({
    at::Tensor t = x[0];
    if (a.has(1)) t = t.to(torch::Device(a.s(1)));
    if (a.has(0)) t = t.to(parseDType(a.s(0)));
    return Tensors{t};
  }), 1, 1);
}

}  // namespace expnet
