// boost_mq_peer.cpp — bench_streams's Boost.Interprocess baseline: one
// producer and one consumer process pass COUNT messages of SIZE bytes
// through a boost::interprocess::message_queue of DEPTH messages, pinned
// as bench_streams pins its own (producer cpu 0, consumer cpu 1). Each
// message carries its sequence number in its first and last 8 bytes, and
// the consumer checks both for every message. Prints the consumer's rate,
// in messages per second, from message WARM to message COUNT.
//
//   boost_mq_peer SIZE COUNT WARM DEPTH
//
// Header-only Boost (Debian's libboost-dev); run by bench_streams, which
// interleaves it with its own variants round by round.
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace bip = boost::interprocess;

namespace {

std::uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

void pin_cpu(int cpu) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % static_cast<int>(n), &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "boost_mq_peer: %s\n", what.c_str());
    std::exit(1);
}

struct Times {
    std::uint64_t warm, end;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) die("usage: boost_mq_peer SIZE COUNT WARM DEPTH");
    const std::size_t size = std::strtoull(argv[1], nullptr, 10);
    const std::uint64_t count = std::strtoull(argv[2], nullptr, 10);
    const std::uint64_t warm = std::strtoull(argv[3], nullptr, 10);
    const std::size_t depth = std::strtoull(argv[4], nullptr, 10);
    if (size < 16 || warm >= count) die("SIZE must be at least 16 and WARM below COUNT");
    const std::string name = "shmiface-bench-boost-" + std::to_string(getpid());
    bip::message_queue::remove(name.c_str());
    void* shared = mmap(nullptr, sizeof(Times), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap failed");
    Times* times = static_cast<Times*>(shared);
    int rc = 0;
    try {
        bip::message_queue queue(bip::create_only, name.c_str(), depth, size);
        std::fflush(nullptr);
        pid_t consumer = fork();
        if (consumer < 0) die("fork failed");
        if (consumer == 0) {
            pin_cpu(1);
            int status = 0;
            try {
                bip::message_queue q(bip::open_only, name.c_str());
                std::vector<unsigned char> buf(size);
                for (std::uint64_t i = 1; i <= count; i++) {
                    bip::message_queue::size_type got = 0;
                    unsigned int priority = 0;
                    q.receive(buf.data(), buf.size(), got, priority);
                    std::uint64_t head, tail;
                    std::memcpy(&head, buf.data(), 8);
                    std::memcpy(&tail, buf.data() + size - 8, 8);
                    if (got != size || head != i || tail != i) {
                        std::fprintf(stderr, "boost_mq_peer: message %llu came as %llu/%llu (%zu bytes)\n",
                                     static_cast<unsigned long long>(i), static_cast<unsigned long long>(head),
                                     static_cast<unsigned long long>(tail), static_cast<std::size_t>(got));
                        status = 1;
                        break;
                    }
                    if (i == warm) times->warm = now_ns();
                }
                times->end = now_ns();
            } catch (const std::exception& e) {
                std::fprintf(stderr, "boost_mq_peer: consumer: %s\n", e.what());
                status = 1;
            }
            _exit(status);
        }
        pin_cpu(0);
        std::vector<unsigned char> buf(size, 0xab);
        for (std::uint64_t i = 1; i <= count; i++) {
            std::memcpy(buf.data(), &i, 8);
            std::memcpy(buf.data() + size - 8, &i, 8);
            queue.send(buf.data(), buf.size(), 0);
        }
        int status = 0;
        if (waitpid(consumer, &status, 0) != consumer || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "boost_mq_peer: %s\n", e.what());
        rc = 1;
    }
    bip::message_queue::remove(name.c_str());
    if (rc != 0) die("the consumer failed");
    std::printf("%.1f\n", static_cast<double>(count - warm) / (static_cast<double>(times->end - times->warm) / 1e9));
    return 0;
}
