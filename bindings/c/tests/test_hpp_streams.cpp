// test_hpp_streams — the C++ wrapper's streams (ABI 1.1): history, next
// and its losses, the values() range, RAII loans and borrows, info_ex, and
// a producer in another process (forked). Linked with -lshmiface.
#include "shmiface.hpp"

#include "check.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

static_assert(!std::is_copy_constructible_v<shmiface::Loan>, "a loan is move-only");
static_assert(std::is_nothrow_move_constructible_v<shmiface::Loan>, "noexcept move");
static_assert(std::is_nothrow_move_assignable_v<shmiface::Loan>, "noexcept move");
static_assert(std::is_copy_constructible_v<shmiface::Borrow>, "a borrow holds nothing");

namespace {

using namespace std::chrono_literals;

std::string unique_name(const char* what) {
    static int counter = 0;
    return "shmiface-test-hpps-" + std::to_string(getpid()) + "-" + what + "-" +
           std::to_string(++counter);
}

template <class F>
void expect_error(shmiface_status status, F&& f) {
    try {
        f();
    } catch (const shmiface::Error& e) {
        if (e.status() != status)
            std::fprintf(stderr, "  got status %d (%s), expected %d\n", e.status(), e.what(), status);
        CHECK(e.status() == status);
        return;
    }
    CHECK(!"did not throw");
}

shmiface::Options stream_options(std::uint32_t history, std::uint64_t capacity = 256) {
    shmiface::Options o;
    o.capacity = capacity;
    o.history = history;
    return o;
}

// A value that names its own version: "value N".
std::string numbered(std::uint64_t n) { return "value " + std::to_string(n); }

void test_history_and_info_ex() {
    auto seg = shmiface::Segment::create(unique_name("info"), {128, 0, false, 8});
    CHECK(seg.history() == 8);
    shmiface::InfoEx ex = seg.info_ex();
    CHECK(ex.history == 8 && ex.oldest_version == 0 && ex.info.capacity == 128 && ex.info.is_owner);
    for (int i = 1; i <= 20; i++) seg.set_string(numbered(i));
    ex = seg.info_ex();
    CHECK(ex.info.version == 20 && ex.oldest_version == 13);

    // history 0 means 1: ABI 1.0's segment
    auto plain = shmiface::Segment::create(unique_name("plain"));
    CHECK(plain.history() == 1);

    shmiface::Options too_many = stream_options(SHMIFACE_MAX_HISTORY + 1);
    try {
        shmiface::Segment::create(unique_name("toomany"), too_many);
        CHECK(!"did not throw");
    } catch (const shmiface::Error& e) {
        CHECK(e.status() == SHMIFACE_ERR_INVALID_ARGUMENT && e.call() == "shmiface_create");
    }
}

void test_next_in_order_with_losses() {
    auto seg = shmiface::Segment::create(unique_name("next"), stream_options(4));
    CHECK(!seg.next(0, 0ms).has_value());  // nothing set: a poll times out
    for (int i = 1; i <= 10; i++) seg.set_string(numbered(i));

    auto m = seg.next(0, 0ms);  // 1..6 were overwritten: the oldest kept is 7
    CHECK(m && m->version == 7 && m->lost == 6 && m->text() == numbered(7));
    std::uint64_t got = 1, lost = m->lost, version = m->version;
    while (auto n = seg.next(version, 0ms)) {
        CHECK(n->text() == numbered(n->version) && n->lost == 0 && n->version == version + 1);
        version = n->version;
        got++;
    }
    CHECK(version == 10 && got == 4 && got + lost == 10);

    auto now = seg.next(shmiface::latest);  // the current value, without waiting
    CHECK(now && now->version == 10 && now->lost == 0 && now->text() == numbered(10));
    CHECK(!seg.next(10, 20ms).has_value());

    // A value larger than the first buffer, then a smaller one, into one Message.
    shmiface::Message reused;
    std::string big(200, 'b');
    big += std::string(56, 'B');  // 256 bytes: the capacity
    seg.set_bytes(big);
    seg.set_string("small");
    CHECK(seg.next_into(reused, 10, 0ms) && reused.text() == big && reused.version == 11);
    CHECK(seg.next_into(reused, reused.version, 0ms) && reused.text() == "small");
    CHECK(!seg.next_into(reused, reused.version, 0ms) && reused.version == 12);

    // a reader attached by name sees the same history
    auto reader = shmiface::Segment::attach(seg.name());
    auto first = reader.next(0, 0ms);
    CHECK(first && first->version == 9 && first->lost == 8);
}

void test_values_range() {
    auto seg = shmiface::Segment::create(unique_name("values"), stream_options(16));
    for (int i = 1; i <= 40; i++) seg.set_string(numbered(i));
    std::uint64_t got = 0, lost = 0, last = 0;
    auto range = seg.values(0, 0ms);  // ends at the first poll that finds nothing
    for (auto& m : range) {
        CHECK(m.text() == numbered(m.version) && m.version > last);
        got++;
        lost += m.lost;
        last = m.version;
    }
    CHECK(got == 16 && lost == 24 && last == 40 && range.version() == 40);

    // Resuming where the range stopped: only what came since.
    for (int i = 41; i <= 43; i++) seg.set_string(numbered(i));
    std::vector<std::uint64_t> seen;
    for (const auto& m : seg.values(range.version(), 0ms)) seen.push_back(m.version);
    CHECK((seen == std::vector<std::uint64_t>{41, 42, 43}));

    // From now: the current value first, then what follows.
    seen.clear();
    for (const auto& m : seg.values(shmiface::latest, 0ms)) seen.push_back(m.version);
    CHECK((seen == std::vector<std::uint64_t>{43}));

    // A range waits: a thread sets three values with pauses, the range ends
    // when none comes for a while.
    std::thread writer([&] {
        for (int i = 44; i <= 46; i++) {
            std::this_thread::sleep_for(5ms);
            seg.set_string(numbered(i));
        }
    });
    seen.clear();
    for (const auto& m : seg.values(43, 2s)) {
        seen.push_back(m.version);
        if (m.version == 46) break;
    }
    writer.join();
    CHECK((seen == std::vector<std::uint64_t>{44, 45, 46}));

    // An empty Segment throws at once.
    shmiface::Segment empty;
    expect_error(SHMIFACE_ERR_NULL_ARGUMENT, [&] { empty.values(); });
}

void test_values_end_by_destroyed() {
    std::string name = unique_name("destroyed");
    auto owner = shmiface::Segment::create(name, stream_options(8));
    auto reader = shmiface::Segment::attach(name);
    shmiface_status status = -1;
    std::uint64_t got = 0;
    std::thread consumer([&] {
        try {
            for (auto& m : reader.values(0)) {  // forever: only an error ends it
                (void)m;
                got++;
            }
        } catch (const shmiface::Error& e) {
            status = e.status();
        }
    });
    owner.set_string("one");
    while (reader.info().version == 0) std::this_thread::yield();
    owner.destroy();
    consumer.join();
    CHECK(status == SHMIFACE_ERR_DESTROYED);
    CHECK(got <= 1);
}

void test_loans() {
    auto seg = shmiface::Segment::create(unique_name("loan"), stream_options(2));
    {
        shmiface::Loan loan = seg.loan();
        CHECK(loan.active() && loan.capacity() == 256);
        CHECK(reinterpret_cast<std::uintptr_t>(loan.data()) % 64 == 0);
        std::memcpy(loan.data(), "in place", 8);
        // This thread would wait for itself: BUSY, as an exception.
        expect_error(SHMIFACE_ERR_BUSY, [&] { seg.set_string("x"); });
        expect_error(SHMIFACE_ERR_BUSY, [&] { seg.loan(); });
        CHECK(seg.get_string().empty());  // readers never see a loaned slot
        expect_error(SHMIFACE_ERR_TOO_LARGE, [&] { loan.publish(257); });
        CHECK(loan.active());  // ... and the loan stays open
        std::uint64_t v = loan.publish(8, /*notify=*/true);
        CHECK(v == 1 && !loan.active() && loan.data() == nullptr);
        expect_error(SHMIFACE_ERR_INVALID_ARGUMENT, [&] { loan.publish(1); });
        loan.discard();  // ended: a no-op
    }
    CHECK(seg.get_string() == "in place" && seg.version() == 1);

    // The destructor discards a loan that was not published.
    {
        auto loan = seg.loan();
        std::memset(loan.data(), 'Z', loan.capacity());
    }
    CHECK(seg.get_string() == "in place" && seg.version() == 1);
    seg.set_string("after");  // the lock was released

    // Moves carry the loan; assigning over an open loan discards it.
    {
        shmiface::Loan a = seg.loan();
        std::memcpy(a.data(), "moved", 5);
        shmiface::Loan b(std::move(a));
        CHECK(!a.active() && b.active() && a.data() == nullptr);
        CHECK(b.publish(5) == 3);
        shmiface::Loan c = seg.loan();
        c = shmiface::Loan();  // discarded here
        CHECK(!c);
        shmiface::Loan d = seg.loan();
        d.discard();
        CHECK(!d.active());
    }
    CHECK(seg.get_string() == "moved" && seg.version() == 3);

    // Another thread's set waits for the loan, then goes through.
    auto loan = seg.loan();
    std::memcpy(loan.data(), "first", 5);
    std::thread other([&] { seg.set_string("second"); });
    std::this_thread::sleep_for(10ms);
    CHECK(seg.version() == 3);  // still waiting for the lock
    CHECK(loan.publish(5) == 4);
    other.join();
    CHECK(seg.get_string() == "second" && seg.version() == 5);
    auto m = seg.next(3, 0ms);
    CHECK(m && m->text() == "first");
}

void test_borrows() {
    auto seg = shmiface::Segment::create(unique_name("borrow"), stream_options(3));
    CHECK(!seg.borrow(0, 0ms).has_value());
    seg.set_string(numbered(1));
    auto b = seg.borrow(0, 0ms);
    CHECK(b && b->version() == 1 && b->text() == numbered(1) && b->lost() == 0 && b->valid());
    auto now = seg.borrow(shmiface::latest);
    CHECK(now && now->version() == 1 && now->size() == numbered(1).size());
    for (int i = 2; i <= 4; i++) seg.set_string(numbered(i));  // history (3) newer sets: intact
    CHECK(b->valid() && b->text() == numbered(1));
    seg.set_string(numbered(5));  // one more: overwritten
    CHECK(!b->valid() && !now->valid());

    auto c = seg.borrow(0, 0ms);  // the oldest kept
    CHECK(c && c->version() == 3 && c->lost() == 2 && c->text() == numbered(3) && c->valid());
    shmiface::Borrow copy = *c;
    CHECK(copy.data() == c->data() && copy.valid());

    // borrow waits for a set like next
    std::thread writer([&] {
        std::this_thread::sleep_for(5ms);
        seg.set_string(numbered(6));
    });
    auto w = seg.borrow(5, 5s);
    writer.join();
    CHECK(w && w->version() == 6 && w->text() == numbered(6) && w->valid());
}

// A forked child runs `body` and exits with its result, never unwinding
// into this process's objects (whose destructors would destroy segments).
template <class F>
pid_t fork_child(F&& body) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = 1;
        try {
            rc = body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "  child: %s\n", e.what());
        }
        std::fflush(nullptr);
        _exit(rc);
    }
    CHECK(pid > 0);
    return pid;
}

bool child_succeeded(pid_t pid) {
    int status = 0;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A producer process writes 20000 numbered values through loans; this one
// reads them with values() and accounts for every one: read or lost.
void test_cross_process_loans_to_values() {
    std::string name = unique_name("proc");
    auto seg = shmiface::Segment::create(name, stream_options(64, 64));
    const std::uint64_t count = 20000;
    pid_t producer = fork_child([&] {
        auto w = shmiface::Segment::attach(name);
        for (std::uint64_t n = 1; n <= count; n++) {
            auto loan = w.loan();
            std::string v = numbered(n);
            std::memcpy(loan.data(), v.data(), v.size());
            if (loan.publish(v.size()) != n) return 3;
        }
        return 0;
    });
    std::uint64_t got = 0, lost = 0, last = 0;
    bool in_order = true, whole = true;
    for (auto& m : seg.values(0, 30s)) {
        in_order = in_order && m.version == last + 1 + m.lost;
        whole = whole && m.text() == numbered(m.version);
        got++;
        lost += m.lost;
        last = m.version;
        if (last == count) break;
    }
    CHECK(child_succeeded(producer));
    CHECK(in_order && whole && last == count);
    CHECK(got + lost == count);
    std::printf("  consumer: %llu read in order, %llu counted lost\n",
                static_cast<unsigned long long>(got), static_cast<unsigned long long>(lost));
}

// A consumer process borrows each value of a producer here, and a late
// joiner reads the kept history of a persistent segment after its
// producer process has exited.
void test_cross_process_borrows_and_late_joiner() {
    std::string name = unique_name("latejoin");
    const std::uint64_t count = 1000, history = 100;
    pid_t producer = fork_child([&] {
        shmiface::Options o = stream_options(static_cast<std::uint32_t>(history), 64);
        o.persistent = true;
        auto w = shmiface::Segment::create(name, o);
        for (std::uint64_t n = 1; n <= count; n++) w.set_string(numbered(n), true);
        return 0;  // ~Segment: a persistent segment outlives its owner
    });
    CHECK(child_succeeded(producer));
    auto late = shmiface::Segment::attach(name);
    CHECK(!late.info().owner_alive && late.history() == history);
    std::uint64_t got = 0, lost = 0, first = 0, last = 0;
    for (auto& m : late.values(0, 0ms)) {
        if (!first) first = m.version;
        CHECK(m.text() == numbered(m.version));
        got++;
        lost += m.lost;
        last = m.version;
    }
    CHECK(got == history && first == count - history + 1 && last == count && got + lost == count);
    auto b = late.borrow(count - 1, 0ms);
    CHECK(b && b->version() == count && b->text() == numbered(count) && b->valid());
    shmiface::unlink(name);

    // borrows in another process, each checked by valid()
    std::string name2 = unique_name("borrowproc");
    auto seg = shmiface::Segment::create(name2, stream_options(256, 64));
    pid_t consumer = fork_child([&] {
        auto r = shmiface::Segment::attach(name2);
        std::uint64_t version = 0, seen = 0, lost_here = 0;
        while (version < count) {
            auto v = r.borrow(version, 30s);
            if (!v) return 4;
            bool same = v->text() == numbered(v->version());
            if (!v->valid()) continue;  // overwritten while read: the check says so, read again
            if (!same) return 5;
            lost_here += v->lost();
            version = v->version();
            seen++;
        }
        return seen + lost_here == count ? 0 : 6;
    });
    for (std::uint64_t n = 1; n <= count; n++) seg.set_string(numbered(n));
    CHECK(child_succeeded(consumer));
}

}  // namespace

int main() {
    struct {
        const char* name;
        void (*fn)();
    } tests[] = {
        {"history_and_info_ex", test_history_and_info_ex},
        {"next_in_order_with_losses", test_next_in_order_with_losses},
        {"values_range", test_values_range},
        {"values_end_by_destroyed", test_values_end_by_destroyed},
        {"loans", test_loans},
        {"borrows", test_borrows},
        {"cross_process_loans_to_values", test_cross_process_loans_to_values},
        {"cross_process_borrows_and_late_joiner", test_cross_process_borrows_and_late_joiner},
    };
    setvbuf(stdout, nullptr, _IOLBF, 0);
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
    return CHECK_DONE("test_hpp_streams");
}
