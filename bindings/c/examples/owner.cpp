// owner — the demo's owner process (C++17, shmiface.hpp).
//
//   owner [--seconds N] [--capacity BYTES] [NAME]      (NAME defaults to shmiface-demo)
//
// Creates the segment NAME and prints its value every second from the main
// thread. A worker thread blocks in wait(); each time a writer sets a value
// with notify, it appends "..." to the value with compare-and-set, retrying
// on a conflict so that no concurrent update is lost. Its own write does not
// notify, so it never wakes itself. SIGINT or SIGTERM (or the end of
// --seconds) destroys the segment: the waiting worker returns DESTROYED and
// the process exits 0.
//
// Each line of output starts with "[owner]" or "[worker]"; the line
// "[owner] ready" says the segment exists and writers may attach.
#include "shmiface.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

namespace {

std::mutex print_mutex;

void say(const char* fmt, ...) {
    std::lock_guard<std::mutex> lock(print_mutex);
    va_list ap;
    va_start(ap, fmt);
    std::vprintf(fmt, ap);
    va_end(ap);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string as_text(const std::vector<std::uint8_t>& bytes) {
    return std::string(bytes.begin(), bytes.end());
}

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s [--seconds N] [--capacity BYTES] [NAME]\n", argv0);
    std::exit(2);
}

// Append "..." to the current value, retrying on a conflict. `last_written`
// is the version of our own last write: a notification that brought no new
// value (a bare notify) finds it unchanged and is left alone.
void append_dots(shmiface::Segment& seg, std::uint64_t capacity, std::uint64_t& last_written) {
    for (;;) {
        shmiface::Value v = seg.read();
        if (v.version == last_written) {
            say("[worker] notified, but nothing new since our last append");
            return;
        }
        std::string before = as_text(v.bytes);
        std::string after = before + "...";
        if (after.size() > capacity) {
            say("[worker] \"%s\" is too long to append \"...\" (capacity %llu)", before.c_str(),
                static_cast<unsigned long long>(capacity));
            last_written = v.version;
            return;
        }
        // flags 0: our own write must not notify, or we would wake ourselves forever.
        if (auto version = seg.try_compare_and_set(v.version, after, /*notify=*/false)) {
            last_written = *version;
            say("[worker] notified: \"%s\" -> \"%s\" (version %llu)", before.c_str(), after.c_str(),
                static_cast<unsigned long long>(*version));
            return;
        }
        say("[worker] version %llu was overtaken by another writer, retrying",
            static_cast<unsigned long long>(v.version));
    }
}

void worker(shmiface::Segment& seg, std::uint64_t capacity) {
    std::uint64_t last_written = 0;
    try {
        for (;;) {
            seg.wait();  // forever; the handle keeps its own cursor, so nothing is missed
            append_dots(seg, capacity, last_written);
        }
    } catch (const shmiface::Error& e) {
        if (e.status() == SHMIFACE_ERR_DESTROYED)
            say("[worker] the segment was destroyed, stopping");
        else
            say("[worker] error: %s", e.what());
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string name = "shmiface-demo";
    long seconds = 0;  // 0 = until a signal
    std::uint64_t capacity = 4096;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--seconds" && i + 1 < argc) {
            seconds = std::strtol(argv[++i], nullptr, 10);
        } else if (arg == "--capacity" && i + 1 < argc) {
            capacity = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "-h" || arg == "--help" || (!arg.empty() && arg[0] == '-')) {
            usage(argv[0]);
        } else {
            name = arg;
        }
    }

    // Take SIGINT/SIGTERM synchronously: block them in every thread (the
    // worker inherits the mask) and collect them with sigtimedwait below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    shmiface::Segment seg;
    shmiface::Segment watcher;
    try {
        shmiface::Options options;
        options.capacity = capacity;
        seg = shmiface::Segment::create(name, options);
        // The worker waits on a handle of its own: destroy() below must not
        // race other calls on the same handle, and the owner's destroy wakes
        // every waiter on the segment, this one included.
        watcher = shmiface::Segment::attach(name);
    } catch (const shmiface::Error& e) {
        say("[owner] error: %s", e.what());
        if (e.status() == SHMIFACE_ERR_EXISTS)
            say("[owner] another owner of \"%s\" is running; pick another name", name.c_str());
        return 1;
    }
    std::thread waiter(worker, std::ref(watcher), capacity);

    say("[owner] ready: segment \"%s\" (capacity %llu, pid %d, library %s)", name.c_str(),
        static_cast<unsigned long long>(capacity), static_cast<int>(getpid()),
        std::string(shmiface::library_version()).c_str());

    int rc = 0;
    int sig = 0;
    try {
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            shmiface::Value v = seg.read();
            say("[owner] value: \"%s\" (version %llu)", as_text(v.bytes).c_str(),
                static_cast<unsigned long long>(v.version));

            using std::chrono::milliseconds;
            milliseconds next(1000);
            if (seconds > 0) {
                auto left = std::chrono::duration_cast<milliseconds>(
                    std::chrono::seconds(seconds) - (std::chrono::steady_clock::now() - start));
                if (left <= milliseconds(0)) break;
                if (left < next) next = left;
            }
            struct timespec ts;
            ts.tv_sec = static_cast<time_t>(next.count() / 1000);
            ts.tv_nsec = static_cast<long>(next.count() % 1000) * 1000000L;
            sig = sigtimedwait(&stop_signals, nullptr, &ts);
            if (sig > 0) break;
            if (sig < 0 && errno != EAGAIN && errno != EINTR) {
                say("[owner] sigtimedwait: %s", std::strerror(errno));
                rc = 1;
                break;
            }
        }
    } catch (const shmiface::Error& e) {
        say("[owner] error: %s", e.what());
        rc = 1;
    }
    if (sig > 0)
        say("[owner] %s received, destroying the segment", sig == SIGINT ? "SIGINT" : "SIGTERM");
    else if (rc == 0)
        say("[owner] %ld seconds are up, destroying the segment", seconds);

    // Always: destroy wakes the worker with DESTROYED, then it can be joined.
    try {
        seg.destroy();
    } catch (const shmiface::Error& e) {
        say("[owner] error: %s; the worker cannot be woken, exiting", e.what());
        std::_Exit(1);
    }
    waiter.join();
    say("[owner] done");
    return rc;
}
