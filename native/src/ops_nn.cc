// Ops: convolution, normalisation, pooling, activations, losses, resampling.
#include "common.h"

namespace expnet {

#define OP(...) [](const Tensors& x, const Attrs& a) -> Tensors { __VA_ARGS__ }
#define ONE(...) OP(return Tensors{__VA_ARGS__};)

static int64_t reduction(const Attrs& a, size_t k) {
  if (!a.has(k)) return at::Reduction::Mean;
  const std::string& r = a.s(k);
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw std::runtime_error("reduction must be 'mean', 'sum' or 'none', got '" + r + "'");
}

static void need4d(const at::Tensor& t, const char* op) {
  if (t.dim() != 4) throw std::runtime_error(std::string(op) + " expects an NCHW (4-D) input, got " + describe(t));
}

static std::vector<int64_t> outSize2d(const at::Tensor& x, const Attrs& a, size_t sizeAt, size_t scaleAt,
                                      c10::optional<double>& sh, c10::optional<double>& sw) {
  need4d(x, "interpolate");
  if (a.has(sizeAt)) return a.intsN(sizeAt, 2);
  if (!a.has(scaleAt)) throw std::runtime_error("interpolate needs a size or a scale factor");
  double s = a.f(scaleAt);
  if (!(s > 0)) throw std::runtime_error("interpolate: the scale factor must be positive");
  sh = s;
  sw = s;
  return {static_cast<int64_t>(std::floor(x.size(2) * s)), static_cast<int64_t>(std::floor(x.size(3) * s))};
}

static int64_t gridMode(const std::string& m) {
  if (m == "bilinear") return 0;
  if (m == "nearest") return 1;
  if (m == "bicubic") return 2;
  throw std::runtime_error("grid_sample mode must be bilinear, nearest or bicubic, got '" + m + "'");
}

static int64_t gridPadding(const std::string& m) {
  if (m == "zeros") return 0;
  if (m == "border") return 1;
  if (m == "reflection") return 2;
  throw std::runtime_error("grid_sample padding must be zeros, border or reflection, got '" + m + "'");
}

void registerNnOps() {
  // [x, w, b?] attrs [stride, padding, dilation, groups]
  registerOp("conv2d", OP({
    need4d(x[0], "conv2d");
    return Tensors{at::conv2d(x[0], x[1], opt(x[2]), a.has(0) ? a.intsN(0, 2) : std::vector<int64_t>{1, 1},
                              a.has(1) ? a.intsN(1, 2) : std::vector<int64_t>{0, 0},
                              a.has(2) ? a.intsN(2, 2) : std::vector<int64_t>{1, 1}, a.has(3) ? a.i(3) : 1)};
  }), 2, 3, 0b100);
  // [x, w, b?]
  registerOp("linear", ONE(at::linear(x[0], x[1], opt(x[2]))), 2, 3, 0b100);
  // [x, weight?, bias?, running_mean?, running_var?] attrs [training, momentum, eps]
  registerOp("batch_norm", OP({
    bool training = a.has(0) && a.b(0);
    if (!training && (!x[3].defined() || !x[4].defined()))
      throw std::runtime_error("batch_norm in eval mode needs running_mean and running_var");
    // As torch.nn.functional.batch_norm: one value per channel has no variance (running_var would become NaN).
    if (training && x[0].dim() >= 2 && x[0].numel() <= x[0].size(1))
      throw std::runtime_error("batch_norm in training mode needs more than 1 value per channel, got " + describe(x[0]));
    return Tensors{at::batch_norm(x[0], opt(x[1]), opt(x[2]), opt(x[3]), opt(x[4]), training,
                                  a.has(1) ? a.f(1) : 0.1, a.has(2) ? a.f(2) : 1e-5, true)};
  }), 1, 5, 0b11110);
  registerOp("relu", ONE(at::relu(x[0])), 1, 1);
  registerOp("leaky_relu", ONE(at::leaky_relu(x[0], a.has(0) ? a.f(0) : 0.01)), 1, 1);
  registerOp("relu6", ONE(at::hardtanh(x[0], 0, 6)), 1, 1);
  registerOp("sigmoid", ONE(at::sigmoid(x[0])), 1, 1);
  registerOp("tanh", ONE(at::tanh(x[0])), 1, 1);
  registerOp("gelu", ONE(at::gelu(x[0])), 1, 1);
  registerOp("elu", ONE(at::elu(x[0], a.has(0) ? a.f(0) : 1.0)), 1, 1);
  // [kernel, stride, padding, dilation, ceil]
  registerOp("max_pool2d", OP({
    need4d(x[0], "max_pool2d");
    auto k = a.intsN(0, 2);
    return Tensors{at::max_pool2d(x[0], k, a.has(1) ? a.intsN(1, 2) : k, a.has(2) ? a.intsN(2, 2) : std::vector<int64_t>{0, 0},
                                  a.has(3) ? a.intsN(3, 2) : std::vector<int64_t>{1, 1}, a.has(4) && a.b(4))};
  }), 1, 1);
  // [kernel, stride, padding, ceil, count_include_pad]
  registerOp("avg_pool2d", OP({
    need4d(x[0], "avg_pool2d");
    auto k = a.intsN(0, 2);
    return Tensors{at::avg_pool2d(x[0], k, a.has(1) ? a.intsN(1, 2) : k, a.has(2) ? a.intsN(2, 2) : std::vector<int64_t>{0, 0},
                                  a.has(3) && a.b(3), !a.has(4) || a.b(4))};
  }), 1, 1);
  registerOp("adaptive_avg_pool2d", OP({
    need4d(x[0], "adaptive_avg_pool2d");
    return Tensors{at::adaptive_avg_pool2d(x[0], a.intsN(0, 2))};
  }), 1, 1);
  registerOp("adaptive_max_pool2d", OP({
    need4d(x[0], "adaptive_max_pool2d");
    return Tensors{std::get<0>(at::adaptive_max_pool2d(x[0], a.intsN(0, 2)))};
  }), 1, 1);
  // [p, training]
  registerOp("dropout", OP({
    double p = a.has(0) ? a.f(0) : 0.5;
    if (p < 0 || p > 1) throw std::runtime_error("dropout probability must be in [0, 1]");
    return Tensors{at::dropout(x[0], p, a.has(1) && a.b(1))};
  }), 1, 1);
  registerOp("dropout2d", OP({
    double p = a.has(0) ? a.f(0) : 0.5;
    if (p < 0 || p > 1) throw std::runtime_error("dropout probability must be in [0, 1]");
    return Tensors{at::feature_dropout(x[0], p, a.has(1) && a.b(1))};
  }), 1, 1);

  // ---- losses ----
  // [logits, target, weight?] attrs [reduction, label_smoothing, ignore_index]
  registerOp("cross_entropy", OP({
    if (x[1].scalar_type() != at::kLong && !x[1].is_floating_point())
      throw std::runtime_error("cross_entropy targets must be int64 class indices or float probabilities, got " + describe(x[1]));
    return Tensors{at::cross_entropy_loss(x[0], x[1], opt(x[2]), reduction(a, 0), a.has(2) ? a.i(2) : -100,
                                          a.has(1) ? a.f(1) : 0.0)};
  }), 2, 3, 0b100);
  registerOp("nll_loss", ONE(at::nll_loss(x[0], x[1], opt(x[2]), reduction(a, 0), -100)), 2, 3, 0b100);
  registerOp("mse_loss", ONE(at::mse_loss(x[0], x[1], reduction(a, 0))), 2, 2);
  registerOp("l1_loss", ONE(at::l1_loss(x[0], x[1], reduction(a, 0))), 2, 2);
  registerOp("smooth_l1_loss", ONE(at::smooth_l1_loss(x[0], x[1], reduction(a, 0), a.has(1) ? a.f(1) : 1.0)), 2, 2);

  // ---- resampling ----
  // [size|null, scale|null, mode ('nearest'|'bilinear'), align_corners]
  registerOp("interpolate", OP({
    c10::optional<double> sh, sw;
    auto size = outSize2d(x[0], a, 0, 1, sh, sw);
    std::string mode = a.has(2) ? a.s(2) : "nearest";
    if (mode == "nearest") return Tensors{at::upsample_nearest2d(x[0], size, sh, sw)};
    if (mode == "bilinear") return Tensors{at::upsample_bilinear2d(x[0], size, a.has(3) && a.b(3), sh, sw)};
    throw std::runtime_error("interpolate mode must be 'nearest' or 'bilinear', got '" + mode + "'");
  }), 1, 1);
  // [pads (last dim first, like torch.nn.functional.pad), mode, value]
  registerOp("pad", OP({
    const auto& p = a.ints(0);
    std::string mode = a.has(1) ? a.s(1) : "constant";
    if (mode == "constant") return Tensors{at::constant_pad_nd(x[0], p, a.has(2) ? a.f(2) : 0.0)};
    if (p.size() != 4) throw std::runtime_error(mode + " padding needs 4 pads (left, right, top, bottom)");
    need4d(x[0], "pad");
    if (mode == "reflect") return Tensors{at::reflection_pad2d(x[0], p)};
    if (mode == "replicate") return Tensors{at::replication_pad2d(x[0], p)};
    throw std::runtime_error("pad mode must be constant, reflect or replicate, got '" + mode + "'");
  }), 1, 1);
  // [theta] attrs [size NCHW, align_corners]
  registerOp("affine_grid", OP({
    const auto& size = a.ints(0);
    if (size.size() != 4) throw std::runtime_error("affine_grid needs a 4-D output size (N, C, H, W)");
    if (x[0].dim() != 3 || x[0].size(0) != size[0] || x[0].size(1) != 2 || x[0].size(2) != 3)
      throw std::runtime_error("affine_grid expects theta of shape [N, 2, 3] matching the size, got " + describe(x[0]));
    return Tensors{at::affine_grid_generator(x[0], size, a.has(1) && a.b(1))};
  }), 1, 1);
  // [input, grid] attrs [mode, padding_mode, align_corners]
  registerOp("grid_sample", OP({
    need4d(x[0], "grid_sample");
    return Tensors{at::grid_sampler(x[0], x[1], gridMode(a.has(0) ? a.s(0) : "bilinear"),
                                    gridPadding(a.has(1) ? a.s(1) : "zeros"), a.has(2) && a.b(2))};
  }), 2, 2);
}

}  // namespace expnet
