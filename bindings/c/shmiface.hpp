// shmiface.hpp — header-only C++17 wrapper over the shmiface C ABI.
//
//     #include <shmiface.hpp>
//     auto seg = shmiface::Segment::create("camera");   // owner; destroyed by ~Segment
//     seg.set_string("hello", /*notify=*/true);
//     std::string v = seg.get_string();
//
// Link with -lshmiface (pkg-config shmiface, or CMake shmiface::shmiface).
//
// Streams (ABI 1.1): a segment created with Options::history keeps its last
// values; next()/values() read each of them in order and count the ones
// overwritten unread, loan() writes a value in place, borrow() reads one
// in place:
//
//     auto seg = shmiface::Segment::create("ticks", {64, 0, false, /*history=*/256});
//     for (auto& m : reader.values(0, std::chrono::seconds(1)))   // ends on a timeout
//         use(m.version, m.data, m.lost);
//
// Error handling: every failing call throws shmiface::Error (a
// std::runtime_error) carrying the status code and the library's detail
// for the failed call. Outcomes that are normal control flow are not
// exceptions: Segment::wait returns false on a timeout,
// Segment::try_compare_and_set returns std::nullopt on a version conflict,
// Segment::next and Segment::borrow return std::nullopt on a timeout (and
// Segment::values ends), and Borrow::valid returns false when the borrowed
// value was overwritten.
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

// Creation options; the defaults are the library's (capacity 128, mode
// 0600, history 1).
struct Options {
    std::uint64_t capacity = 0;  // bytes one value may hold; 0 = 128
    std::uint32_t mode = 0;      // permission bits; 0 = 0600
    bool persistent = false;     // the owner's destroy does not unlink the name
    std::uint32_t history = 0;   // values kept readable; 0 = 1; at most SHMIFACE_MAX_HISTORY

    // ABI 1.0's options (no history).
    shmiface_options to_c() const noexcept {
        shmiface_options o{};
        o.capacity = capacity;
        o.mode = mode;
        o.flags = persistent ? SHMIFACE_PERSISTENT : 0;
        return o;
    }
    // ABI 1.1's options, for shmiface_create.
    shmiface_create_options to_create_options() const noexcept {
        shmiface_create_options o{};
        o.capacity = capacity;
        o.mode = mode;
        o.flags = persistent ? SHMIFACE_PERSISTENT : 0;
        o.history = history;
        return o;
    }
};

// A snapshot for monitoring: the C struct, fields as in docs/c-api.md.
using Info = shmiface_info;
// The same with the history's figures (history, oldest_version).
using InfoEx = shmiface_info_ex;

// "The version read last" for next(), values() and borrow() that starts
// at the current value, without waiting: the way to start reading from now.
inline constexpr std::uint64_t latest = SHMIFACE_LATEST;

// A value and the version it had when it was read.
struct Value {
    std::vector<std::uint8_t> bytes;
    std::uint64_t version = 0;
};

// A value of a stream, as Segment::next and Segment::values return it.
struct Message {
    std::uint64_t version = 0;       // the version the value was given by its set
    std::vector<std::uint8_t> data;  // its bytes
    std::uint64_t lost = 0;          // values overwritten unread since the version read before

    // The bytes as text (a view of `data`).
    std::string_view text() const noexcept {
        return {reinterpret_cast<const char*>(data.data()), data.size()};
    }
};

namespace detail {
// A wrapper timeout as the ABI's milliseconds: nullopt = -1 (forever),
// a negative duration = 0 (poll).
inline std::int64_t timeout_ms(std::optional<std::chrono::milliseconds> timeout) noexcept {
    if (!timeout) return -1;
    return timeout->count() < 0 ? 0 : static_cast<std::int64_t>(timeout->count());
}

// The values lost between reading `before` and then `now` (ABI 1.1: a gap
// in the versions); nothing is lost when the read started at `latest`.
inline std::uint64_t lost_between(std::uint64_t before, std::uint64_t now) noexcept {
    return before == SHMIFACE_LATEST || now <= before ? 0 : now - before - 1;
}

// shmiface_next into out.data, grown (never shrunk below 256 bytes) to
// the value's length: a stream of equal-sized values reuses one buffer
// with no reallocation and no zero-filling. False on a timeout.
inline bool next_into(const shmiface_segment* seg, Message& out, std::uint64_t after,
                      std::optional<std::chrono::milliseconds> timeout) {
    const std::int64_t ms = timeout_ms(timeout);
    if (out.data.size() < 256) out.data.resize(256);
    for (;;) {
        std::uint64_t version = after;
        std::size_t len = 0;
        shmiface_status st = shmiface_next(seg, &version, out.data.data(), out.data.size(), &len, ms);
        if (st == SHMIFACE_ERR_BUFFER_TOO_SMALL) {  // a larger value: grow and ask again
            out.data.resize(len);
            continue;
        }
        if (st == SHMIFACE_ERR_TIMEOUT) return false;
        check(st, "shmiface_next");
        out.data.resize(len);
        out.lost = lost_between(after, version);
        out.version = version;
        return true;
    }
}
}  // namespace detail

class Segment;

// A value being written in place (Segment::loan): the writer lock is held
// and data() points at capacity() writable bytes in shared memory, aligned
// to 64. publish() makes the first `len` of them the new value; the
// destructor discards the loan unless it was published. Move-only.
//
// A loan belongs to the thread that took it: publish, discard and the
// destructor must run there, and that thread's other writes to the
// segment throw Error(SHMIFACE_ERR_BUSY) while it is open. Other writers
// wait meanwhile, so keep it short. The Segment's handle must outlive the
// Loan (moving the Segment is fine: the Loan holds the handle).
class Loan {
   public:
    Loan() noexcept = default;
    Loan(const Loan&) = delete;
    Loan& operator=(const Loan&) = delete;
    Loan(Loan&& other) noexcept
        : seg_(std::exchange(other.seg_, nullptr)),
          data_(std::exchange(other.data_, nullptr)),
          capacity_(std::exchange(other.capacity_, 0)) {}
    Loan& operator=(Loan&& other) noexcept {
        if (this != &other) {
            end();
            seg_ = std::exchange(other.seg_, nullptr);
            data_ = std::exchange(other.data_, nullptr);
            capacity_ = std::exchange(other.capacity_, 0);
        }
        return *this;
    }
    ~Loan() { end(); }

    // The loaned bytes (nullptr once the loan has ended).
    std::uint8_t* data() const noexcept { return data_; }
    std::size_t capacity() const noexcept { return capacity_; }
    // The loan is open: neither published nor discarded.
    bool active() const noexcept { return seg_ != nullptr; }
    explicit operator bool() const noexcept { return active(); }

    // Publish the first `len` bytes as the new value (shmiface_publish);
    // returns its version. Throws Error(SHMIFACE_ERR_TOO_LARGE) for a len
    // over the capacity, and the loan stays open; any other failure, or a
    // loan no longer open (SHMIFACE_ERR_INVALID_ARGUMENT), throws too.
    std::uint64_t publish(std::size_t len, bool notify = false) {
        if (!seg_)
            throw Error(SHMIFACE_ERR_INVALID_ARGUMENT, "shmiface::Loan",
                        "the loan was published or discarded already");
        std::uint64_t version = 0;
        detail::check(shmiface_publish(seg_, len, notify ? SHMIFACE_SET_NOTIFY : 0u, &version),
                      "shmiface_publish");
        forget();
        return version;
    }

    // End the loan now, publishing nothing (shmiface_discard); reports a
    // failure the destructor would ignore. No-op once the loan has ended.
    void discard() {
        shmiface_segment* seg = seg_;
        if (!seg) return;
        forget();
        detail::check(shmiface_discard(seg), "shmiface_discard");
    }

   private:
    friend class Segment;
    Loan(shmiface_segment* seg, std::uint8_t* data, std::size_t capacity) noexcept
        : seg_(seg), data_(data), capacity_(capacity) {}
    void forget() noexcept {
        seg_ = nullptr;
        data_ = nullptr;
        capacity_ = 0;
    }
    void end() noexcept {
        if (seg_) shmiface_discard(seg_);
        forget();
    }
    shmiface_segment* seg_ = nullptr;
    std::uint8_t* data_ = nullptr;
    std::size_t capacity_ = 0;
};

// A value read in place (Segment::borrow): size() bytes at data(), in
// shared memory, with no copy and no lock. A writer may overwrite them
// meanwhile (they stay intact at least until `history` newer values have
// been set), so read through data() first and then ask valid(): true means
// every byte read so far belonged to version(); false means the value was
// overwritten (SHMIFACE_ERR_OVERWRITTEN): throw away what was computed
// from it. valid() may be asked any number of times; it throws Error for
// anything other than OK or OVERWRITTEN. Nothing needs releasing: a Borrow
// holds no resource, and copying it is cheap. The pointer stays mapped
// for as long as the Segment's handle lives.
class Borrow {
   public:
    Borrow() noexcept = default;

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::uint64_t version() const noexcept { return version_; }
    // Values overwritten unread between the version borrowed after and this one.
    std::uint64_t lost() const noexcept { return lost_; }
    // The bytes as text; as data(), check valid() after reading them.
    std::string_view text() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }

    // shmiface_release: true if the value is still intact.
    bool valid() const {
        shmiface_status st = shmiface_release(seg_, version_);
        if (st == SHMIFACE_ERR_OVERWRITTEN) return false;
        detail::check(st, "shmiface_release");
        return true;
    }

   private:
    friend class Segment;
    Borrow(const shmiface_segment* seg, const std::uint8_t* data, std::size_t size,
           std::uint64_t version, std::uint64_t lost) noexcept
        : seg_(seg), data_(data), size_(size), version_(version), lost_(lost) {}
    const shmiface_segment* seg_ = nullptr;
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::uint64_t version_ = 0;
    std::uint64_t lost_ = 0;
};

// The range Segment::values returns: an input range over the segment's
// values from a version on, each read with next() into one reused
// Message. It ends when a wait times out; errors throw (among them
// SHMIFACE_ERR_DESTROYED when the owner destroys the segment). version()
// is the version read last, to resume from. The Segment's handle must
// outlive the range (moving the Segment is fine).
class Values {
   public:
    struct sentinel {};
    class iterator {
       public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Message;
        using difference_type = std::ptrdiff_t;
        using pointer = Message*;
        using reference = Message&;

        reference operator*() const noexcept { return range_->current_; }
        pointer operator->() const noexcept { return &range_->current_; }
        iterator& operator++() {
            range_->advance();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, sentinel) noexcept { return it.at_end(); }
        friend bool operator!=(const iterator& it, sentinel s) noexcept { return !(it == s); }
        friend bool operator==(sentinel s, const iterator& it) noexcept { return it == s; }
        friend bool operator!=(sentinel s, const iterator& it) noexcept { return !(it == s); }

       private:
        friend class Values;
        explicit iterator(Values* range) noexcept : range_(range) {}
        bool at_end() const noexcept { return range_->done_; }
        Values* range_;
    };

    // Reads the first value (waiting for it); iterate once.
    iterator begin() {
        if (!started_) {
            started_ = true;
            advance();
        }
        return iterator(this);
    }
    sentinel end() const noexcept { return {}; }

    // The version read last (the `after` given, before the first read).
    std::uint64_t version() const noexcept { return version_; }

   private:
    friend class Segment;
    Values(const shmiface_segment* seg, std::uint64_t after,
           std::optional<std::chrono::milliseconds> timeout)
        : seg_(seg), version_(after), timeout_(timeout) {}
    void advance() {
        if (done_) return;
        if (detail::next_into(seg_, current_, version_, timeout_))
            version_ = current_.version;
        else
            done_ = true;
    }

    const shmiface_segment* seg_;
    std::uint64_t version_;
    std::optional<std::chrono::milliseconds> timeout_;
    Message current_;
    bool started_ = false;
    bool done_ = false;
};

// One handle on a named segment. Move-only; the destructor destroys the
// handle (for the owner: marks the segment destroyed, wakes every waiter
// and unlinks the name unless persistent). A moved-from or destroyed
// Segment is empty: its calls throw Error(SHMIFACE_ERR_NULL_ARGUMENT).
class Segment {
   public:
    // Create the segment and become its owner (shmiface_create; with
    // Options::history 0 or 1 exactly shmiface_init_instance).
    static Segment create(std::string_view name, const Options& options = {}) {
        std::string n(name);
        shmiface_create_options o = options.to_create_options();
        shmiface_segment* seg = nullptr;
        detail::check(shmiface_create(n.c_str(), &o, sizeof o, &seg), "shmiface_create");
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

    // info() with the history's figures (shmiface_get_info_ex).
    InfoEx info_ex() const {
        InfoEx out{};
        detail::check(shmiface_get_info_ex(handle(), &out, sizeof out), "shmiface_get_info_ex");
        return out;
    }

    // The number of values the segment keeps readable.
    std::uint32_t history() const { return info_ex().history; }

    // ---- streams (ABI 1.1) ----

    // The oldest kept value newer than `after` (the version read last; 0
    // before the first read; `latest` for the current value, without
    // waiting), waiting up to `timeout` (nullopt = forever) for one to be
    // set: std::nullopt on a timeout. Message::lost counts the values
    // overwritten unread between `after` and it. Throws Error otherwise,
    // e.g. SHMIFACE_ERR_DESTROYED when the owner destroys the segment.
    std::optional<Message> next(std::uint64_t after,
                                std::optional<std::chrono::milliseconds> timeout = std::nullopt) const {
        Message m;
        if (!next_into(m, after, timeout)) return std::nullopt;
        return m;
    }

    // The same into `out`, reusing its buffer: false on a timeout (then
    // `out` is unchanged but for its buffer's contents).
    bool next_into(Message& out, std::uint64_t after,
                   std::optional<std::chrono::milliseconds> timeout = std::nullopt) const {
        return detail::next_into(handle(), out, after, timeout);
    }

    // Every value from `after` on, in order, as a range:
    //     for (auto& m : seg.values(0, std::chrono::seconds(1))) ...
    // It ends when no value comes within `timeout` (nullopt: it never
    // ends but by an error), and throws as next() does.
    Values values(std::uint64_t after = 0,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt) const {
        return Values(handle(), after, timeout);
    }

    // Lend the slot of the next value, to fill in place (shmiface_loan):
    // see Loan. Throws Error(SHMIFACE_ERR_BUSY) if this thread holds a loan
    // on the segment already.
    Loan loan() {
        std::uint8_t* data = nullptr;
        std::size_t capacity = 0;
        detail::check(shmiface_loan(handle(), &data, &capacity), "shmiface_loan");
        return Loan(seg_, data, capacity);
    }

    // Point at a value in place instead of copying it (shmiface_borrow),
    // chosen as next() chooses: std::nullopt on a timeout. See Borrow.
    std::optional<Borrow> borrow(std::uint64_t after,
                                 std::optional<std::chrono::milliseconds> timeout = std::nullopt) const {
        std::uint64_t version = after;
        const std::uint8_t* data = nullptr;
        std::size_t len = 0;
        shmiface_status st = shmiface_borrow(handle(), &version, &data, &len, detail::timeout_ms(timeout));
        if (st == SHMIFACE_ERR_TIMEOUT) return std::nullopt;
        detail::check(st, "shmiface_borrow");
        return Borrow(seg_, data, len, version, detail::lost_between(after, version));
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
        shmiface_status st = shmiface_wait(handle(), seen, detail::timeout_ms(timeout));
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
