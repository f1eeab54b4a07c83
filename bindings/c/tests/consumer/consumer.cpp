// consumer.cpp — a C++ program built with CMake find_package(shmiface)
// against an installed shmiface, through shmiface.hpp.
#include <shmiface.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

int main() {
    const std::string name = "shmiface-test-consumer-cpp-" + std::to_string(getpid());
    try {
        shmiface::check_abi_version();
        {
            auto seg = shmiface::Segment::create(name);
            seg.set_string("installed", /*notify=*/true);
            auto attached = shmiface::Segment::attach(name);
            if (attached.get_string() != "installed" || attached.info().version != 1) {
                std::fprintf(stderr, "consumer.cpp: wrong value\n");
                return 1;
            }
        }
        try {
            shmiface::Segment::attach(name);
            std::fprintf(stderr, "consumer.cpp: the segment outlived its owner\n");
            return 1;
        } catch (const shmiface::Error& e) {
            if (e.status() != SHMIFACE_ERR_NOT_FOUND) throw;
        }
    } catch (const shmiface::Error& e) {
        std::fprintf(stderr, "consumer.cpp: %s (status %d)\n", e.what(), e.status());
        return 1;
    }
    std::printf("consumer.cpp: ok (libshmiface %s)\n", std::string(shmiface::library_version()).c_str());
    return 0;
}
