// boost_design.cpp — the "seed's design", bench_ops's Boost baseline: a
// boost::interprocess::interprocess_mutex, a length and a char[128] in one
// struct, placement-new'd into a POSIX shared-memory object
// (shared_memory_object + mapped_region). set and get take the mutex
// around a memcpy, exactly as bench_ops's pthread baseline does, and are
// called from the same timing loops (see boost_design.h).
//
// Header-only Boost (Debian's libboost-dev). On Linux, Boost 1.74's
// interprocess_mutex is a process-shared, non-robust pthread mutex whose
// lock() throws on failure; each call here catches that, so no exception
// reaches C.
#include "boost_design.h"

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <utility>

namespace bip = boost::interprocess;

namespace {

struct Box {
    bip::interprocess_mutex lock;
    std::size_t len = 0;
    char data[BOOST_DESIGN_CAPACITY] = {};
};

}  // namespace

struct boost_design {
    bip::mapped_region region;
    Box* box;
};

extern "C" boost_design* boost_design_new(const char* name, char* err, std::size_t err_len) {
    try {
        bip::shared_memory_object::remove(name);
        bip::shared_memory_object shm(bip::create_only, name, bip::read_write);
        shm.truncate(sizeof(Box));
        bip::mapped_region region(shm, bip::read_write);
        // The mapping outlives the name: nothing is left in /dev/shm,
        // whatever happens to the run.
        bip::shared_memory_object::remove(name);
        Box* box = new (region.get_address()) Box();
        return new boost_design{std::move(region), box};
    } catch (const std::exception& e) {
        std::snprintf(err, err_len, "%s", e.what());
    } catch (...) {
        std::snprintf(err, err_len, "an unknown exception");
    }
    bip::shared_memory_object::remove(name);
    return nullptr;
}

extern "C" int boost_design_set(boost_design* d, const char* value) {
    std::size_t len = std::strlen(value);
    if (len > BOOST_DESIGN_CAPACITY) return -1;
    try {
        bip::scoped_lock<bip::interprocess_mutex> guard(d->box->lock);
        std::memcpy(d->box->data, value, len);
        d->box->len = len;
    } catch (...) {
        return -1;
    }
    return 0;
}

extern "C" int boost_design_get(boost_design* d, char* buf, std::size_t buf_len, std::size_t* len_out) {
    std::size_t len;
    try {
        bip::scoped_lock<bip::interprocess_mutex> guard(d->box->lock);
        len = d->box->len;
        if (len + 1 > buf_len) return -1;
        std::memcpy(buf, d->box->data, len);
    } catch (...) {
        return -1;
    }
    buf[len] = '\0';
    *len_out = len;
    return 0;
}

extern "C" void boost_design_free(boost_design* d) {
    if (!d) return;
    d->box->~Box();
    delete d;  // unmaps the region
}
