/* A reader of the shared-memory layout written in C, against repl/hs_shm.h only: it proves that a
 * C management process can read what hotstandbyd publishes. Used by shm_test.cpp. */
#include "shm_reader.h"

#include "repl/hs_shm.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int hs_test_summarise(const void* base, size_t size, struct hs_test_summary* out) {
    struct hs_shm_header hdr;
    struct hs_shm_record* recs = calloc(256, sizeof *recs);
    if (recs == NULL)
        return -100;
    int n = hs_shm_read(base, size, &hdr, recs, 256, 1000);
    if (n < 0) {
        free(recs);
        return n;
    }
    memset(out, 0, sizeof *out);
    out->count = (uint32_t)n;
    out->generation = hdr.generation;
    out->epoch = hdr.epoch;
    out->seq_ordered = hdr.seq[0];
    out->seq_telemetry = hdr.seq[1];
    out->role = hdr.role;
    out->readiness = hdr.readiness;
    out->truncated = hdr.truncated;
    out->fan_mode = -1;
    for (int z = 0; z < 8; ++z)
        out->floor[z] = -2; /* no record */
    out->floors_equal = 1;
    int first_floor = -3;
    for (int k = 0; k < n; ++k) {
        const struct hs_shm_record* r = &recs[k];
        switch (r->kind) {
        case 1:
            out->fan_mode = r->i[0];
            break;
        case 2:
            if (r->index < 8)
                out->floor[r->index] = r->i[0];
            if (first_floor == -3)
                first_floor = (int)r->i[0];
            else if (first_floor != (int)r->i[0])
                out->floors_equal = 0;
            break;
        case 16:
            out->journal_rows++;
            out->last_journal_lag_ms = r->i[6];
            break;
        case 32:
            out->sensor_sum += r->d[0];
            break;
        case 35:
            strncpy(out->bmc_error, r->text, sizeof out->bmc_error - 1);
            break;
        default:
            break;
        }
    }
    free(recs);
    return 0;
}

int hs_test_summarise_named(const char* name, struct hs_test_summary* out) {
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0)
        return -101;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -102;
    }
    void* p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -103;
    int rc = hs_test_summarise(p, (size_t)st.st_size, out);
    munmap(p, (size_t)st.st_size);
    return rc;
}
