#ifndef WCP_UTIL_CLOCK_H
#define WCP_UTIL_CLOCK_H

#include <stdint.h>

/** CLOCK_MONOTONIC in milliseconds, for deadlines. */
long long clock_ms(void);

/** CLOCK_MONOTONIC in nanoseconds, for timing what the proxy does. */
uint64_t clock_ns(void);

#endif
