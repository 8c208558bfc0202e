/* The C reader's interface to the test (shm_reader.c). */
#ifndef HS_TEST_SHM_READER_H
#define HS_TEST_SHM_READER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hs_test_summary {
    uint32_t count;
    uint64_t generation;
    uint64_t epoch;
    uint64_t seq_ordered;
    uint64_t seq_telemetry;
    uint32_t role;
    uint32_t readiness;
    uint32_t truncated;
    int64_t fan_mode;
    int64_t floor[8];
    int floors_equal; /* every fan floor record holds the same duty (a torn read would not) */
    uint32_t journal_rows;
    int64_t last_journal_lag_ms;
    double sensor_sum;
    char bmc_error[72];
};

/* 0 and OUT filled, or a negative error (HS_SHM_E* of repl/hs_shm.h, or < -100 for I/O). */
int hs_test_summarise(const void* base, size_t size, struct hs_test_summary* out);
int hs_test_summarise_named(const char* name, struct hs_test_summary* out);

#ifdef __cplusplus
}
#endif

#endif
