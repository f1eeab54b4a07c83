// shmiface.hpp — header-only C++17 wrapper over the shmiface C ABI.
//
//     #include <shmiface.hpp>
//     auto seg = shmiface::Segment::create("camera");   // owner; destroyed by ~Segment
//     seg.set_string("hello", /*notify=*/true);
//     std::string v = seg.get_string();
//
// Link with -lshmiface (pkg-config shmiface, or CMake shmiface::shmiface).
//
// Error handling: every failing call throws shmiface::Error (a
// std::runtime_error) carrying the status code and the library's detail
// for the failed call. Two outcomes that are normal control flow are not
// exceptions: Segment::wait returns false on a timeout, and
// Segment::try_compare_and_set returns std::nullopt on a version conflict.
//
// Thread-safety is the library's: every member may be called from several
// threads at once on one Segment, except destroy(), the destructor and
// moves, which must not race other calls on the same Segment.
#ifndef SHMIFACE_HPP
#define SHMIFACE_HPP

#include "shmiface.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace shmiface {

// The description of any status value (static, never null).
inline const char* status_str(shmiface_status status) noexcept { return shmiface_status_str(status); }

// The detail of this thread's last failed call ("" if none).
inline std::string last_error() {
    std::size_t len = shmiface_last_error(nullptr, 0);
    std::string detail(len + 1, '\0');
    len = shmiface_last_error(detail.data(), detail.size());
    detail.resize(std::min(len, detail.size() - 1));
    return detail;
}

// Thrown by every wrapper call that fails.
class Error : public std::runtime_error {
   public:
    Error(shmiface_status status, std::string call, std::string detail)
        : std::runtime_error(format(status, call, detail)),
          status_(status),
          call_(std::move(call)),
          detail_(std::move(detail)) {}

    // The SHMIFACE_ERR_* code.
    shmiface_status status() const noexcept { return status_; }
    // The C function that failed, e.g. "shmiface_get_instance".
    const std::string& call() const noexcept { return call_; }
    // The library's detail for the failure (shmiface_last_error), may be "".
    const std::string& detail() const noexcept { return detail_; }

   private:
    static std::string format(shmiface_status status, const std::string& call,
                              const std::string& detail) {
        std::string msg = call + ": " + status_str(status);
        std::string_view more = detail;
        const std::string prefix = call + ": ";  // the library's detail usually names the call too
        if (more.substr(0, prefix.size()) == prefix) more.remove_prefix(prefix.size());
        if (!more.empty()) msg.append(" (").append(more).append(")");
        return msg;
    }
    shmiface_status status_;
    std::string call_;
    std::string detail_;
};

namespace detail {
// Throw Error unless `status` is SHMIFACE_OK. The detail is read right
// away, on the thread that made the call, before anything else can fail.
inline void check(shmiface_status status, const char* call) {
    if (status != SHMIFACE_OK) throw Error(status, call, last_error());
}

template <class, class = void>
struct is_byte_range : std::false_type {};
template <class C>
struct is_byte_range<C, std::void_t<decltype(std::data(std::declval<const C&>())),
                                    decltype(std::size(std::declval<const C&>()))>>
    : std::bool_constant<
          !std::is_array_v<C> &&
          sizeof(std::remove_pointer_t<decltype(std::data(std::declval<const C&>()))>) == 1 &&
          std::is_trivially_copyable_v<
              std::remove_pointer_t<decltype(std::data(std::declval<const C&>()))>>> {};
}  // namespace detail

// A read-only view of bytes: pointer + size (std::span is C++20). Made
// implicitly from std::string_view, a NUL-terminated const char*, or any
// contiguous container of one-byte elements (std::string,
// std::vector<std::uint8_t>, std::vector<char>, std::array<std::byte, N>...),
// and explicitly from a pointer and a size. The bytes are not copied: the
// source must outlive the call.
class bytes_view {
   public:
    bytes_view() noexcept = default;
    bytes_view(const void* data, std::size_t size) noexcept
        : data_(data ? static_cast<const std::uint8_t*>(data) : empty_bytes()), size_(size) {}
    bytes_view(std::string_view s) noexcept : bytes_view(s.data(), s.size()) {}
    bytes_view(const char* s) noexcept : bytes_view(s, s ? std::strlen(s) : 0) {}
    template <class C, class = std::enable_if_t<detail::is_byte_range<C>::value &&
                                                !std::is_convertible_v<const C&, const char*>>>
    bytes_view(const C& c) noexcept : bytes_view(std::data(c), std::size(c)) {}

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

   private:
    static const std::uint8_t* empty_bytes() noexcept {
        static const std::uint8_t none = 0;
        return &none;
    }
    // Never null, so an empty view is still a valid pointer for the ABI.
    const std::uint8_t* data_ = empty_bytes();
    std::size_t size_ = 0;
};

// Creation options; the defaults are the library's (capacity 128, mode 0600).
struct Options {
    std::uint64_t capacity = 0;  // bytes one value may hold; 0 = 128
    std::uint32_t mode = 0;      // permission bits; 0 = 0600
    bool persistent = false;     // the owner's destroy does not unlink the name

    shmiface_options to_c() const noexcept {
        shmiface_options o{};
        o.capacity = capacity;
        o.mode = mode;
        o.flags = persistent ? SHMIFACE_PERSISTENT : 0;
        return o;
    }
};

// A snapshot for monitoring: the C struct, fields as in ABI.md.
using Info = shmiface_info;

// A value and the version it had when it was read.
struct Value {
    std::vector<std::uint8_t> bytes;
    std::uint64_t version = 0;
};

// One handle on a named segment. Move-only; the destructor destroys the
// handle (for the owner: marks the segment destroyed, wakes every waiter
// and unlinks the name unless persistent). A moved-from or destroyed
// Segment is empty: its calls throw Error(SHMIFACE_ERR_NULL_ARGUMENT).
class Segment {
   public:
    // Create the segment and become its owner (shmiface_init_instance).
    static Segment create(std::string_view name, const Options& options = {}) {
        std::string n(name);
        shmiface_options o = options.to_c();
        shmiface_segment* seg = nullptr;
        detail::check(shmiface_init_instance(n.c_str(), &o, &seg), "shmiface_init_instance");
        return Segment(seg, std::move(n));
    }

    // Attach to an existing segment (shmiface_get_instance).
    static Segment attach(std::string_view name) {
        std::string n(name);
        shmiface_segment* seg = nullptr;
        detail::check(shmiface_get_instance(n.c_str(), &seg), "shmiface_get_instance");
        return Segment(seg, std::move(n));
    }

    // Take ownership of a handle made through the C API (may be null).
    static Segment adopt(shmiface_segment* seg, std::string name = {}) noexcept {
        return Segment(seg, std::move(name));
    }

    Segment() noexcept = default;
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;
    Segment(Segment&& other) noexcept
        : seg_(std::exchange(other.seg_, nullptr)), name_(std::move(other.name_)) {}
    Segment& operator=(Segment&& other) noexcept {
        if (this != &other) {
            reset();
            seg_ = std::exchange(other.seg_, nullptr);
            name_ = std::move(other.name_);
        }
        return *this;
    }
    ~Segment() { reset(); }

    // Destroy now and report failure (the destructor ignores it). The
    // Segment is empty afterwards either way. No-op when already empty.
    void destroy() {
        shmiface_segment* seg = std::exchange(seg_, nullptr);
        if (seg) detail::check(shmiface_destroy(seg), "shmiface_destroy");
    }

    // Give the handle back to C code; the Segment becomes empty.
    shmiface_segment* release() noexcept { return std::exchange(seg_, nullptr); }

    shmiface_segment* native_handle() const noexcept { return seg_; }
    explicit operator bool() const noexcept { return seg_ != nullptr; }
    const std::string& name() const noexcept { return name_; }

    // ---- reading ----

    // The current value as text (shmiface_get_string); never torn.
    std::string get_string() const {
        std::string buf(64, '\0');
        for (;;) {
            std::size_t len = 0;
            shmiface_status st = shmiface_get_string(handle(), buf.data(), buf.size(), &len);
            if (st == SHMIFACE_ERR_BUFFER_TOO_SMALL) {  // grew: retry with room for len + NUL
                buf.assign(len + 1, '\0');
                continue;
            }
            detail::check(st, "shmiface_get_string");
            buf.resize(len);
            return buf;
        }
    }

    // The current value as bytes, with its version (shmiface_get_bytes).
    Value read() const {
        Value v;
        v.bytes.resize(64);
        for (;;) {
            std::size_t len = 0;
            shmiface_status st = shmiface_get_bytes(handle(), v.bytes.data(), v.bytes.size(),
                                                    &len, &v.version);
            if (st == SHMIFACE_ERR_BUFFER_TOO_SMALL) {
                v.bytes.resize(len > 0 ? len : 1);
                continue;
            }
            detail::check(st, "shmiface_get_bytes");
            v.bytes.resize(len);
            return v;
        }
    }

    std::vector<std::uint8_t> get_bytes() const { return read().bytes; }

    // Copy the value into a caller's buffer; returns its length. Throws
    // Error(SHMIFACE_ERR_BUFFER_TOO_SMALL) if it does not fit.
    std::size_t read_into(void* buf, std::size_t buf_len, std::uint64_t* version = nullptr) const {
        std::uint8_t dummy = 0;
        std::size_t len = 0;
        detail::check(shmiface_get_bytes(handle(), buf_len ? static_cast<std::uint8_t*>(buf) : &dummy,
                                         buf_len, &len, version),
                      "shmiface_get_bytes");
        return len;
    }

    // The version of the current value (0 = never set).
    std::uint64_t version() const { return info().version; }

    Info info() const {
        Info out{};
        detail::check(shmiface_get_info(handle(), &out), "shmiface_get_info");
        return out;
    }

    // ---- writing ----

    // Replace the value with a NUL-terminated string (shmiface_set_string /
    // shmiface_set_string_notify).
    void set_string(const char* value, bool notify = false) {
        if (notify)
            detail::check(shmiface_set_string_notify(handle(), value), "shmiface_set_string_notify");
        else
            detail::check(shmiface_set_string(handle(), value), "shmiface_set_string");
    }
    // A std::string or std::string_view is stored as its exact bytes
    // (shmiface_set_bytes): it need not be NUL-terminated and may hold NULs.
    void set_string(std::string_view value, bool notify = false) { set_bytes(value, notify); }

    // Replace the value with bytes; returns the new version.
    std::uint64_t set_bytes(bytes_view data, bool notify = false) {
        std::uint64_t version = 0;
        detail::check(shmiface_set_bytes(handle(), data.data(), data.size(),
                                         notify ? SHMIFACE_SET_NOTIFY : 0u, &version),
                      "shmiface_set_bytes");
        return version;
    }
    std::uint64_t set_bytes(const void* data, std::size_t size, bool notify = false) {
        return set_bytes(bytes_view(data, size), notify);
    }

    // Replace the value only if its version is still `expected`; returns
    // the new version. Throws Error(SHMIFACE_ERR_CONFLICT) otherwise.
    std::uint64_t compare_and_set(std::uint64_t expected, bytes_view data, bool notify = false) {
        std::uint64_t version = 0;
        detail::check(cas(expected, data, notify, &version), "shmiface_compare_and_set");
        return version;
    }

    // The same, for read-modify-write loops: std::nullopt on a conflict.
    std::optional<std::uint64_t> try_compare_and_set(std::uint64_t expected, bytes_view data,
                                                     bool notify = false) {
        std::uint64_t version = 0;
        shmiface_status st = cas(expected, data, notify, &version);
        if (st == SHMIFACE_ERR_CONFLICT) return std::nullopt;
        detail::check(st, "shmiface_compare_and_set");
        return version;
    }

    // ---- notifications ----

    void notify() { detail::check(shmiface_notify(handle()), "shmiface_notify"); }

    // Block until a notification newer than this handle's cursor (the
    // count when the handle was made, then the last one waited for).
    // Returns true on a notification, false when `timeout` ran out
    // (std::nullopt = forever). Throws Error(SHMIFACE_ERR_DESTROYED) when
    // the owner destroys the segment.
    bool wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        return wait_impl(nullptr, timeout);
    }
    // The same with the caller's cursor: returns when the notification
    // count differs from `seen`, and stores the current count in it.
    bool wait(std::uint64_t& seen, std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        return wait_impl(&seen, timeout);
    }

   private:
    Segment(shmiface_segment* seg, std::string name) noexcept : seg_(seg), name_(std::move(name)) {}

    shmiface_segment* handle() const {
        if (!seg_)
            throw Error(SHMIFACE_ERR_NULL_ARGUMENT, "shmiface::Segment",
                        "empty Segment (moved from or destroyed)");
        return seg_;
    }

    shmiface_status cas(std::uint64_t expected, bytes_view data, bool notify,
                        std::uint64_t* version) {
        return shmiface_compare_and_set(handle(), expected, data.data(), data.size(),
                                        notify ? SHMIFACE_SET_NOTIFY : 0u, version);
    }

    bool wait_impl(std::uint64_t* seen, std::optional<std::chrono::milliseconds> timeout) {
        std::int64_t ms = -1;
        if (timeout) ms = timeout->count() < 0 ? 0 : static_cast<std::int64_t>(timeout->count());
        shmiface_status st = shmiface_wait(handle(), seen, ms);
        if (st == SHMIFACE_ERR_TIMEOUT) return false;
        detail::check(st, "shmiface_wait");
        return true;
    }

    void reset() noexcept {
        if (seg_) shmiface_destroy(std::exchange(seg_, nullptr));
    }

    shmiface_segment* seg_ = nullptr;
    std::string name_;
};

// Remove a name (stale-segment cleanup); existing mappings stay valid.
inline void unlink(std::string_view name) {
    std::string n(name);
    detail::check(shmiface_unlink(n.c_str()), "shmiface_unlink");
}

// The library's version string, e.g. "0.1.0".
inline std::string_view library_version() noexcept { return shmiface_version(); }

// The ABI version of the loaded library.
inline std::uint32_t abi_version() noexcept { return shmiface_abi_version(); }

// How long a waiter in this process spins before it sleeps (nanoseconds;
// 0 = never spin). Applies to waits that start afterwards.
inline void set_spin_ns(std::uint64_t ns) { detail::check(shmiface_set_spin_ns(ns), "shmiface_set_spin_ns"); }
inline std::uint64_t spin_ns() noexcept { return shmiface_spin_ns(); }

// Throw unless the loaded library speaks the ABI this header was built for.
inline void check_abi_version() {
    if (abi_version() != SHMIFACE_ABI_VERSION)
        throw Error(SHMIFACE_ERR_INCOMPATIBLE, "shmiface_abi_version",
                    "library ABI " + std::to_string(abi_version()) + ", header ABI " +
                        std::to_string(SHMIFACE_ABI_VERSION));
}

}  // namespace shmiface

#endif  // SHMIFACE_HPP
