// Type-erased callables, in the shape of std::function: a small
// `Function<R(A)>` stores any callable object inline and calls it through
// a pointer to a generated invoker, one `call_indirect` per call. A
// pipeline of such stages, built from lambdas with different captures,
// transforms a stream of values.
#include "common.h"

// Placement new without the standard library.
inline void* operator new(decltype(sizeof(0)), void* where) noexcept { return where; }

namespace {

template <typename Signature>
class Function;

template <typename R, typename A>
class Function<R(A)> {
    static constexpr uint32_t kStorage = 16;
    alignas(8) unsigned char storage_[kStorage];
    R (*invoke_)(const void*, A) = nullptr;

    template <typename F>
    static R invoke(const void* object, A arg) {
        return (*static_cast<const F*>(object))(arg);
    }

public:
    Function() = default;

    template <typename F>
    Function(F f) {  // NOLINT: implicit, like std::function
        static_assert(sizeof(F) <= kStorage, "the callable fits inline");
        new (storage_) F(f);
        invoke_ = &invoke<F>;
    }

    R operator()(A arg) const { return invoke_(storage_, arg); }
};

}  // namespace

RUN_FUNCTION {
    uint32_t k = (uint32_t)seed | 1;
    uint32_t shift = 1 + ((uint32_t)seed & 7);
    uint32_t lo = 3, hi = 0x10001;
    Function<uint32_t(uint32_t)> stages[8] = {
        [](uint32_t x) { return x + 0x9E37; },
        [k](uint32_t x) { return x * k; },
        [shift](uint32_t x) { return x ^ (x >> shift); },
        [lo, hi](uint32_t x) { return x < lo ? hi : x - lo; },
        [](uint32_t x) { return (x << 7) | (x >> 25); },
        [k, shift](uint32_t x) { return x + (k >> shift); },
        [](uint32_t x) { return x * 0x2C1B3C6Du; },
        [hi](uint32_t x) { return x % hi + 1; },
    };
    uint32_t acc = (uint32_t)seed;
    for (int32_t i = 0; i < n; i++) {
        // The stage depends on the value, so the order is not a fixed cycle.
        acc = stages[(acc >> 3) & 7](acc) + (uint32_t)i;
    }
    return (int32_t)acc;
}
