// bias_act: the activation table and the per-element math, shared by the CPU
// kernel (bias_act.cc), the CUDA kernel (bias_act.cu) and the standalone CUDA
// harness (test_cuda/). No TensorFlow here, so plain nvcc can compile it.
//
// One op computes three things, chosen by `grad`:
//   grad 0:  y  = clamp(act(x + b) * gain)
//   grad 1:  dx = x * act'(ref + b) * gain * [|act(ref + b) * gain| <= clamp]
//   grad 2:  d  = x * dy * act''(ref + b) * gain * [same mask]
// so the first derivative is another call of the op, and its own derivative
// (needed by R1 and path-length regularisation) is a third.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <type_traits>

#include "common.h"

namespace tf_stylegan {

enum class Act : int {
  kLinear = 0,
  kRelu,
  kLrelu,
  kTanh,
  kSigmoid,
  kElu,
  kSelu,
  kSoftplus,
  kSwish,
};

// The names match tf_stylegan.ops.bias_act.ACTIVATIONS.
inline bool ParseAct(const char* name, Act* act) {
  static const char* const kNames[] = {"linear", "relu",  "lrelu",    "tanh", "sigmoid",
                                       "elu",    "selu",  "softplus", "swish"};
  for (int i = 0; i < 9; ++i) {
    if (strcmp(name, kNames[i]) == 0) {
      *act = static_cast<Act>(i);
      return true;
    }
  }
  return false;
}

// Calls f(std::integral_constant<Act, A>{}) for the run-time activation `act`,
// so that kernels are instantiated once per activation with no branch inside.
template <typename F>
inline void WithAct(Act act, F&& f) {
  switch (act) {
    case Act::kLinear: return f(std::integral_constant<Act, Act::kLinear>{});
    case Act::kRelu: return f(std::integral_constant<Act, Act::kRelu>{});
    case Act::kLrelu: return f(std::integral_constant<Act, Act::kLrelu>{});
    case Act::kTanh: return f(std::integral_constant<Act, Act::kTanh>{});
    case Act::kSigmoid: return f(std::integral_constant<Act, Act::kSigmoid>{});
    case Act::kElu: return f(std::integral_constant<Act, Act::kElu>{});
    case Act::kSelu: return f(std::integral_constant<Act, Act::kSelu>{});
    case Act::kSoftplus: return f(std::integral_constant<Act, Act::kSoftplus>{});
    case Act::kSwish: return f(std::integral_constant<Act, Act::kSwish>{});
  }
}

struct BiasActParams {
  int64_t size;      // elements of x
  int64_t channels;  // length of the bias (0: no bias)
  int64_t inner;     // product of the dimensions after `dim`
  int grad;          // 0, 1 or 2, as above
  Act act;
  float alpha;
  float gain;
  float clamp;  // < 0: no clamp
};

template <typename S>
TFS_HD S Sigmoid(S s) {
  return S(1) / (S(1) + exp(-s));
}

template <Act A, typename S>
TFS_HD S ActValue(S s, S alpha) {
  if constexpr (A == Act::kLinear) return s;
  else if constexpr (A == Act::kRelu) return s > S(0) ? s : S(0);
  else if constexpr (A == Act::kLrelu) return s > S(0) ? s : s * alpha;
  else if constexpr (A == Act::kTanh) return tanh(s);
  else if constexpr (A == Act::kSigmoid) return Sigmoid(s);
  else if constexpr (A == Act::kElu) return s > S(0) ? s : expm1(s);
  else if constexpr (A == Act::kSelu)
    return S(1.0507009873554805) * (s > S(0) ? s : S(1.6732632423543772) * expm1(s));
  else if constexpr (A == Act::kSoftplus) return s > S(0) ? s + log1p(exp(-s)) : log1p(exp(s));
  else return s * Sigmoid(s);  // swish
}

template <Act A, typename S>
TFS_HD S ActDeriv1(S s, S alpha) {
  if constexpr (A == Act::kLinear) return S(1);
  else if constexpr (A == Act::kRelu) return s > S(0) ? S(1) : S(0);
  else if constexpr (A == Act::kLrelu) return s > S(0) ? S(1) : alpha;
  else if constexpr (A == Act::kTanh) {
    S t = tanh(s);
    return S(1) - t * t;
  } else if constexpr (A == Act::kSigmoid) {
    S g = Sigmoid(s);
    return g * (S(1) - g);
  } else if constexpr (A == Act::kElu) return s > S(0) ? S(1) : exp(s);
  else if constexpr (A == Act::kSelu)
    return S(1.0507009873554805) * (s > S(0) ? S(1) : S(1.6732632423543772) * exp(s));
  else if constexpr (A == Act::kSoftplus) return Sigmoid(s);
  else {
    S g = Sigmoid(s);
    return g * (S(1) + s * (S(1) - g));
  }
}

template <Act A, typename S>
TFS_HD S ActDeriv2(S s, S alpha) {
  if constexpr (A == Act::kLinear || A == Act::kRelu || A == Act::kLrelu) return S(0);
  else if constexpr (A == Act::kTanh) {
    S t = tanh(s);
    return S(-2) * t * (S(1) - t * t);
  } else if constexpr (A == Act::kSigmoid) {
    S g = Sigmoid(s);
    return g * (S(1) - g) * (S(1) - S(2) * g);
  } else if constexpr (A == Act::kElu) return s > S(0) ? S(0) : exp(s);
  else if constexpr (A == Act::kSelu)
    return s > S(0) ? S(0) : S(1.0507009873554805 * 1.6732632423543772) * exp(s);
  else if constexpr (A == Act::kSoftplus) {
    S g = Sigmoid(s);
    return g * (S(1) - g);
  } else {
    S g = Sigmoid(s);
    return g * (S(1) - g) * (S(2) + s * (S(1) - S(2) * g));
  }
}

// The gradient is zero where the forward output was clamped (as clip_by_value).
template <Act A, typename S>
TFS_HD bool Clamped(S s, S alpha, S gain, S clamp) {
  if (clamp < S(0)) return false;
  S y = ActValue<A>(s, alpha) * gain;
  return y > clamp || y < -clamp;
}

// One element of the op. `x` is the input (grad 0) or the incoming gradient;
// `ref` the forward input for grad 1 and 2; `dy` the first-order incoming
// gradient for grad 2; `bias` the element's bias (0 without one).
template <Act A, int G, typename S>
TFS_HD S BiasActElement(S x, S ref, S dy, S bias, S alpha, S gain, S clamp) {
  if constexpr (G == 0) {
    S y = ActValue<A>(x + bias, alpha) * gain;
    if (clamp >= S(0)) y = y > clamp ? clamp : (y < -clamp ? -clamp : y);
    return y;
  } else if constexpr (G == 1) {
    S s = ref + bias;
    if (Clamped<A>(s, alpha, gain, clamp)) return S(0);
    return x * ActDeriv1<A>(s, alpha) * gain;
  } else {
    S s = ref + bias;
    if (Clamped<A>(s, alpha, gain, clamp)) return S(0);
    return x * dy * ActDeriv2<A>(s, alpha) * gain;
  }
}

}  // namespace tf_stylegan
