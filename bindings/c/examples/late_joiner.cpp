// late_joiner — the stream demo's late joiner (C++17, shmiface.hpp).
//
//     late_joiner [--unlink] [NAME]
//
// Attaches to the stream NAME (default shmiface-stream-demo) after its
// producer has gone, and reads the values the segment kept, in order, with
// the wrapper's values() range (version 0 on, no waiting): the versions
// before the oldest kept one count as lost, so read + lost is the
// producer's last version. Each value must say its own version
// ("tick <version>"). --unlink removes the name afterwards. Exits 0, or 1
// on an error.
#include <shmiface.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    bool unlink_after = false;
    std::string name = "shmiface-stream-demo";
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--unlink") == 0) {
            unlink_after = true;
        } else if (argv[i][0] == '-' || i != argc - 1) {
            std::fprintf(stderr, "usage: %s [--unlink] [NAME]\n", argv[0]);
            return 2;
        } else {
            name = argv[i];
        }
    }
    try {
        auto seg = shmiface::Segment::attach(name);
        shmiface::InfoEx ex = seg.info_ex();
        std::printf("[late_joiner] attached to \"%s\": owner %s, keeps %u, versions %llu to %llu\n",
                    name.c_str(), ex.info.owner_alive ? "alive" : "gone", ex.history,
                    static_cast<unsigned long long>(ex.oldest_version),
                    static_cast<unsigned long long>(ex.info.version));
        std::uint64_t got = 0, lost = 0, first = 0, last = 0;
        for (auto& m : seg.values(0, std::chrono::milliseconds(0))) {  // ends when none is left
            if (m.text() != "tick " + std::to_string(m.version)) {
                std::fprintf(stderr, "[late_joiner] version %llu holds \"%.*s\"\n",
                             static_cast<unsigned long long>(m.version),
                             static_cast<int>(m.text().size()), m.text().data());
                return 1;
            }
            if (!first) first = m.version;
            got++;
            lost += m.lost;
            last = m.version;
        }
        std::printf("[late_joiner] read %llu kept values in order (versions %llu to %llu), lost %llu "
                    "before them; read + lost = %llu\n",
                    static_cast<unsigned long long>(got), static_cast<unsigned long long>(first),
                    static_cast<unsigned long long>(last), static_cast<unsigned long long>(lost),
                    static_cast<unsigned long long>(got + lost));
        if (unlink_after) {
            seg.destroy();
            shmiface::unlink(name);
            std::printf("[late_joiner] removed \"%s\"\n", name.c_str());
        }
    } catch (const shmiface::Error& e) {
        std::fprintf(stderr, "[late_joiner] %s\n", e.what());
        return 1;
    }
    return 0;
}
