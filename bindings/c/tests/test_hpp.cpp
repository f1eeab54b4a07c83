// test_hpp — the C++ wrapper's own test: RAII, moves, exceptions that carry
// the status, and every wrapped call. Linked with -lshmiface.
#include "shmiface.hpp"

#include "check.h"

#include <unistd.h>

#include <array>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

static_assert(!std::is_copy_constructible_v<shmiface::Segment>, "move-only");
static_assert(!std::is_copy_assignable_v<shmiface::Segment>, "move-only");
static_assert(std::is_nothrow_move_constructible_v<shmiface::Segment>, "noexcept move");
static_assert(std::is_nothrow_move_assignable_v<shmiface::Segment>, "noexcept move");
static_assert(std::is_base_of_v<std::runtime_error, shmiface::Error>, "Error is a runtime_error");

namespace {

std::string unique_name(const char* what) {
    static int counter = 0;
    return "shmiface-test-hpp-" + std::to_string(getpid()) + "-" + what + "-" +
           std::to_string(++counter);
}

// Runs `f`, which must throw shmiface::Error with `status`; returns the error's message.
template <class F>
std::string expect_error(shmiface_status status, F&& f) {
    try {
        f();
    } catch (const shmiface::Error& e) {
        if (e.status() != status)
            std::fprintf(stderr, "  got status %d (%s), expected %d\n", e.status(), e.what(), status);
        CHECK(e.status() == status);
        CHECK(!e.call().empty());
        return e.what();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "  unexpected exception: %s\n", e.what());
        CHECK(!"threw something other than shmiface::Error");
        return {};
    }
    CHECK(!"did not throw");
    return {};
}

bool exists(const std::string& name) {
    try {
        shmiface::Segment::attach(name);
        return true;
    } catch (const shmiface::Error& e) {
        CHECK(e.status() == SHMIFACE_ERR_NOT_FOUND);
        return false;
    }
}

void test_raii_destroys() {
    std::string name = unique_name("raii");
    {
        auto seg = shmiface::Segment::create(name);
        CHECK(static_cast<bool>(seg));
        CHECK(seg.name() == name);
        CHECK(exists(name));
    }
    CHECK(!exists(name));  // the owner's destructor destroyed and unlinked it
}

void test_move() {
    std::string name = unique_name("move");
    auto a = shmiface::Segment::create(name);
    a.set_string("moved");
    shmiface_segment* raw = a.native_handle();

    shmiface::Segment b(std::move(a));
    CHECK(!a && b && b.native_handle() == raw);
    CHECK(b.get_string() == "moved");
    std::string msg = expect_error(SHMIFACE_ERR_NULL_ARGUMENT, [&] { a.get_string(); });
    CHECK(msg.find("empty Segment") != std::string::npos);
    CHECK(exists(name));  // moving did not destroy

    shmiface::Segment c;
    CHECK(!c);
    c = std::move(b);
    CHECK(!b && c.native_handle() == raw && c.name() == name);
    CHECK(exists(name));

    // Move-assigning over a live owner destroys what it held.
    std::string other = unique_name("move-over");
    shmiface::Segment d = shmiface::Segment::create(other);
    d = std::move(c);
    CHECK(!exists(other));
    CHECK(exists(name));
    d = shmiface::Segment();
    CHECK(!exists(name));

    // release() hands the handle back to C.
    auto e = shmiface::Segment::create(name);
    shmiface_segment* released = e.release();
    CHECK(!e && released != nullptr);
    CHECK(exists(name));
    auto f = shmiface::Segment::adopt(released, name);
    f.destroy();
    CHECK(!f && !exists(name));
    f.destroy();  // empty: no-op
}

void test_errors_carry_status() {
    std::string name = unique_name("errors");
    std::string msg = expect_error(SHMIFACE_ERR_NOT_FOUND, [&] { shmiface::Segment::attach(name); });
    CHECK(msg.find("shmiface_get_instance") != std::string::npos);
    expect_error(SHMIFACE_ERR_INVALID_NAME, [] { shmiface::Segment::create("no/slashes"); });
    expect_error(SHMIFACE_ERR_INVALID_NAME, [] { shmiface::Segment::create(""); });
    expect_error(SHMIFACE_ERR_NOT_FOUND, [&] { shmiface::unlink(name); });

    shmiface::Options small;
    small.capacity = 8;
    auto seg = shmiface::Segment::create(name, small);
    expect_error(SHMIFACE_ERR_EXISTS, [&] { shmiface::Segment::create(name); });
    seg.set_string("12345678");
    expect_error(SHMIFACE_ERR_TOO_LARGE, [&] { seg.set_string("123456789"); });
    CHECK(seg.get_string() == "12345678");  // the old value stays

    try {
        seg.set_bytes(std::string(100, 'x'));
        CHECK(!"did not throw");
    } catch (const shmiface::Error& e) {
        CHECK(e.status() == SHMIFACE_ERR_TOO_LARGE);
        CHECK(e.call() == "shmiface_set_bytes");
        CHECK(std::string(e.what()).find(shmiface::status_str(SHMIFACE_ERR_TOO_LARGE)) !=
              std::string::npos);
        std::printf("  TOO_LARGE: what()=\"%s\", detail=\"%s\"\n", e.what(), e.detail().c_str());
    }

    std::array<char, 4> tiny{};
    expect_error(SHMIFACE_ERR_BUFFER_TOO_SMALL, [&] { seg.read_into(tiny.data(), tiny.size()); });

    shmiface::Options bad;
    bad.capacity = ~std::uint64_t{0};
    expect_error(SHMIFACE_ERR_INVALID_ARGUMENT, [&] { shmiface::Segment::create(unique_name("huge"), bad); });
}

void test_values() {
    auto seg = shmiface::Segment::create(unique_name("values"), shmiface::Options{1024, 0, false});
    CHECK(seg.get_string().empty());
    CHECK(seg.version() == 0);

    seg.set_string("c string");
    CHECK(seg.get_string() == "c string");
    seg.set_string(std::string("std::string"));
    CHECK(seg.get_string() == "std::string");
    std::string_view view = std::string_view("view, not NUL-terminated").substr(0, 4);
    seg.set_string(view);
    CHECK(seg.get_string() == "view");
    std::string long_value(300, 'L');  // longer than get_string's first buffer
    seg.set_string(long_value);
    CHECK(seg.get_string() == long_value);

    std::vector<std::uint8_t> blob{0, 1, 2, 0, 255};
    std::uint64_t v = seg.set_bytes(blob);
    shmiface::Value got = seg.read();
    CHECK(got.bytes == blob && got.version == v && seg.version() == v);
    CHECK(seg.get_bytes() == blob);
    std::array<std::byte, 2> two{std::byte{7}, std::byte{8}};
    seg.set_bytes(two);
    CHECK((seg.get_bytes() == std::vector<std::uint8_t>{7, 8}));
    seg.set_bytes(blob.data(), 3);
    CHECK((seg.get_bytes() == std::vector<std::uint8_t>{0, 1, 2}));
    std::array<std::uint8_t, 16> into{};
    std::uint64_t into_version = 0;
    CHECK(seg.read_into(into.data(), into.size(), &into_version) == 3 && into_version == seg.version());
    seg.set_bytes(shmiface::bytes_view());
    CHECK(seg.get_bytes().empty());

    // compare-and-set: success, conflict as exception, conflict as nullopt
    std::uint64_t cur = seg.version();
    std::uint64_t next = seg.compare_and_set(cur, "cas");
    CHECK(next == cur + 1 && seg.get_string() == "cas");
    expect_error(SHMIFACE_ERR_CONFLICT, [&] { seg.compare_and_set(cur, "stale"); });
    CHECK(!seg.try_compare_and_set(cur, "stale").has_value());
    auto ok = seg.try_compare_and_set(next, std::string("cas2"));
    CHECK(ok.has_value() && *ok == next + 1 && seg.get_string() == "cas2");

    shmiface::Info info = seg.info();
    CHECK(info.capacity == 1024 && info.length == 4 && info.version == *ok);
    CHECK(info.is_owner && info.owner_alive && !info.destroyed && info.mode == 0600);
    CHECK(info.owner_pid == static_cast<std::int32_t>(getpid()));
}

void test_wait_notify() {
    std::string name = unique_name("wait");
    auto owner = shmiface::Segment::create(name);
    auto watcher = shmiface::Segment::attach(name);

    CHECK(!watcher.wait(std::chrono::milliseconds(0)));  // nothing yet: a poll times out
    owner.notify();
    CHECK(watcher.wait(std::chrono::milliseconds(0)));  // the handle's cursor saw it
    CHECK(!watcher.wait(std::chrono::milliseconds(0)));

    std::uint64_t seen = watcher.info().notify_count;
    owner.set_string("notified", /*notify=*/true);
    CHECK(watcher.wait(seen, std::chrono::seconds(10)) && seen == owner.info().notify_count);
    owner.set_bytes(std::string("quiet"));  // no notify flag: no wake-up
    CHECK(!watcher.wait(seen, std::chrono::milliseconds(0)));
    owner.compare_and_set(owner.version(), "loud", /*notify=*/true);
    CHECK(watcher.wait(seen, std::chrono::seconds(10)));

    // A waiter blocked forever on its own handle is woken by the owner's destroy.
    shmiface_status waiter_status = -1;
    std::thread waiter([&] {
        try {
            for (;;) watcher.wait();
        } catch (const shmiface::Error& e) {
            waiter_status = e.status();
        }
    });
    owner.set_string("wake once", true);
    // The owner destroys while the waiter blocks (or is about to): it must
    // come back with DESTROYED, not hang (the test's timeout is the guard).
    owner.destroy();
    waiter.join();
    CHECK(waiter_status == SHMIFACE_ERR_DESTROYED);
    expect_error(SHMIFACE_ERR_DESTROYED, [&] { watcher.set_string("after"); });
    CHECK(watcher.info().destroyed);
    CHECK(!exists(name));
}

void test_free_functions() {
    CHECK(shmiface::abi_version() == SHMIFACE_ABI_VERSION);
    shmiface::check_abi_version();
    CHECK(!shmiface::library_version().empty());
    CHECK(shmiface::status_str(999999) != nullptr);
    std::uint64_t spin = shmiface::spin_ns();
    shmiface::set_spin_ns(1234);
    CHECK(shmiface::spin_ns() == 1234);
    shmiface::set_spin_ns(spin);
    CHECK(shmiface::spin_ns() == spin);

    // persistent: the owner's destroy leaves the name; unlink removes it
    std::string name = unique_name("persistent");
    shmiface::Options opt;
    opt.persistent = true;
    shmiface::Segment::create(name, opt).set_string("kept");
    CHECK(shmiface::Segment::attach(name).get_string() == "kept");
    shmiface::unlink(name);
    CHECK(!exists(name));
}

}  // namespace

int main() {
    struct {
        const char* name;
        void (*fn)();
    } tests[] = {
        {"raii_destroys", test_raii_destroys},
        {"move", test_move},
        {"errors_carry_status", test_errors_carry_status},
        {"values", test_values},
        {"wait_notify", test_wait_notify},
        {"free_functions", test_free_functions},
    };
    for (auto& t : tests) {
        int before = check_failed;
        try {
            t.fn();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "  %s threw: %s\n", t.name, e.what());
            check_failed++;
        }
        std::printf("%s %s\n", check_failed == before ? "ok  " : "FAIL", t.name);
    }
    return CHECK_DONE("test_hpp");
}
