/*
 * frozen_clock.so: an LD_PRELOAD shim that gives a process a wall clock set
 * from outside. The `reference` test runs redis-server under it so real
 * Redis sees the same virtual time as the model.
 *
 * The time is a little-endian uint64 of Unix microseconds at offset 0 of the
 * file named by FROZEN_CLOCK_FILE, mapped shared: the test writes the file
 * before each command, and the next clock call reads the new time. Only the
 * wall clock (gettimeofday, time, CLOCK_REALTIME*) is replaced; everything
 * else, the monotonic clock Redis's event loop uses included, goes to the
 * kernel as usual.
 *
 * libfaketime would do the same, but it deadlocks at start-up with
 * jemalloc (which Debian's redis-server uses): both call each other while
 * initialising. This shim allocates nothing: getenv, open and mmap only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile const uint64_t *frozen_us;

static const volatile uint64_t *clock_source(void) {
    if (!frozen_us) {
        const char *path = getenv("FROZEN_CLOCK_FILE");
        int fd = path ? open(path, O_RDONLY) : -1;
        if (fd >= 0) {
            void *p = mmap(NULL, sizeof(uint64_t), PROT_READ, MAP_SHARED, fd, 0);
            close(fd);
            if (p != MAP_FAILED) frozen_us = p;
        }
    }
    return frozen_us;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    const volatile uint64_t *src = clock_source();
    if (src && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        uint64_t us = *src;
        ts->tv_sec = (time_t)(us / 1000000);
        ts->tv_nsec = (long)(us % 1000000) * 1000;
        return 0;
    }
    return (int)syscall(SYS_clock_gettime, id, ts);
}

int gettimeofday(struct timeval *tv, void *tz) {
    const volatile uint64_t *src = clock_source();
    if (src) {
        uint64_t us = *src;
        tv->tv_sec = (time_t)(us / 1000000);
        tv->tv_usec = (suseconds_t)(us % 1000000);
        return 0;
    }
    return (int)syscall(SYS_gettimeofday, tv, tz);
}

time_t time(time_t *out) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (out) *out = tv.tv_sec;
    return tv.tv_sec;
}
