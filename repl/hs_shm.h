/* hotstandby: the published copy of the replicated store in POSIX shared memory.
 *
 * Layout version 1. One region, written by hotstandbyd only, readable by any local management
 * process without a socket (the paper's shared memory). Native byte order and alignment of the
 * module (both modules and every reader run on the same host). The region is:
 *
 *   struct hs_shm_header   (128 bytes)
 *   struct hs_shm_record   [capacity] (176 bytes each), the first `count` in use, in key order
 *
 * Consistency: a seqlock. The writer makes `seqlock` odd, writes, then makes it even again (one
 * more than odd). A reader copies what it needs between two reads of `seqlock` and keeps the copy
 * only when both reads are equal and even; hs_shm_read() below does exactly that.
 *
 * Record fields by kind (i = ints, d = reals; codes as in docs/replication.md):
 *   1 fan mode       i0 mode (1 auto, 2 manual, 3 fail-safe)
 *   2 fan floor      index = zone; i0 duty % or -1 when cleared
 *   3 power request  i0 request id, i1 control code (0-5, 255 none), i2 requested unix ms,
 *                    i3 deadline unix ms, i4 outcome (0 pending 1 confirmed 2 failed 3 superseded
 *                    4 dropped), i5 outcome unix ms
 *   4 preemption     i0 0/1
 *   5 setting        index = setting id; i0 value
 *  16 journal        index = row; i0 unix ms, i1 reason, i2 from role, i3 to role, i4 epoch,
 *                    i5 lag records at takeover, i6 lag ms
 *  17 chassis event  index = event number; i0 unix ms, i1 event type, i2 object index, d0 value,
 *                    text
 *  32 sensor         index = sensor; d0 value, i0 valid 0/1, i1 state, i2 read unix ms
 *  33 power          i0 power state, i1 unix ms
 *  34 fan            index = zone; i0 duty %, i1 mode, i2 failed 0/1, i3 rpm known 0/1, d0 rpm
 *  35 bmc            i0 access state, text = last error
 */
#ifndef HS_SHM_H
#define HS_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HS_SHM_MAGIC 0x4D535348u /* "HSSM" read as little-endian bytes */
#define HS_SHM_VERSION 1u
#define HS_SHM_TEXT 72 /* NUL-terminated, at most 64 bytes of text */
#define HS_SHM_NAME "/hotstandby"

struct hs_shm_header {
    uint32_t magic;
    uint32_t version;
    uint32_t header_size; /* sizeof(struct hs_shm_header) */
    uint32_t record_size; /* sizeof(struct hs_shm_record) */
    uint32_t capacity;    /* records the region has room for */
    uint32_t count;       /* records published (<= capacity) */
    uint64_t seqlock;     /* odd while the writer writes */
    uint64_t generation;  /* publications so far */
    uint64_t epoch;       /* watermark: epoch of the store's newest term */
    uint64_t seq[2];      /* watermark: ordered and telemetry stream positions */
    uint64_t digest[2];   /* watermark: stream digests */
    int64_t published_unix_ms;
    uint32_t role; /* the publishing node's role (0 init 1 standby 2 active 3 fault 4 stopped) */
    uint32_t readiness; /* 0 cold 1 syncing 2 hot (a standby's; an active publishes 2) */
    uint64_t lag_records;
    uint32_t truncated; /* 1: the store had more records than capacity */
    uint32_t reserved0;
    uint64_t reserved[2];
};

struct hs_shm_record {
    uint8_t kind;
    uint8_t stream; /* 0 ordered (intent, log), 1 telemetry */
    uint8_t reserved0[2];
    uint32_t index;
    uint64_t epoch;
    uint64_t seq;
    int64_t i[8];
    double d[2];
    char text[HS_SHM_TEXT];
};

#ifdef __cplusplus
static_assert(sizeof(struct hs_shm_header) == 128, "hs_shm_header layout");
static_assert(sizeof(struct hs_shm_record) == 176, "hs_shm_record layout");
static_assert(offsetof(struct hs_shm_header, seqlock) == 24, "hs_shm_header layout");
#else
_Static_assert(sizeof(struct hs_shm_header) == 128, "hs_shm_header layout");
_Static_assert(sizeof(struct hs_shm_record) == 176, "hs_shm_record layout");
_Static_assert(offsetof(struct hs_shm_header, seqlock) == 24, "hs_shm_header layout");
#endif

static inline size_t hs_shm_bytes(uint32_t capacity) {
    return sizeof(struct hs_shm_header) + (size_t)capacity * sizeof(struct hs_shm_record);
}

enum {
    HS_SHM_OK = 0,
    HS_SHM_ETOOSMALL = -1, /* the region is smaller than its header says */
    HS_SHM_EMAGIC = -2,
    HS_SHM_EVERSION = -3,
    HS_SHM_ELAYOUT = -4, /* header or record size differ from this header file's */
    HS_SHM_EBUSY = -5,   /* the writer kept writing through every try */
};

/* Checks a mapped region of SIZE bytes at BASE against this layout. */
static inline int hs_shm_check(const void* base, size_t size) {
    const struct hs_shm_header* h = (const struct hs_shm_header*)base;
    if (size < sizeof(struct hs_shm_header))
        return HS_SHM_ETOOSMALL;
    if (h->magic != HS_SHM_MAGIC)
        return HS_SHM_EMAGIC;
    if (h->version != HS_SHM_VERSION)
        return HS_SHM_EVERSION;
    if (h->header_size != sizeof(struct hs_shm_header) ||
        h->record_size != sizeof(struct hs_shm_record))
        return HS_SHM_ELAYOUT;
    if (size < hs_shm_bytes(h->capacity))
        return HS_SHM_ETOOSMALL;
    return HS_SHM_OK;
}

/* Copies a consistent view: the header into HDR and up to MAX records into RECS. Returns the number
 * of records copied (>= 0) or an HS_SHM_E* error; tries at most TRIES times while the writer is
 * busy. */
static inline int hs_shm_read(const void* base, size_t size, struct hs_shm_header* hdr,
                              struct hs_shm_record* recs, uint32_t max, int tries) {
    const struct hs_shm_header* h = (const struct hs_shm_header*)base;
    const struct hs_shm_record* r = (const struct hs_shm_record*)(h + 1);
    int rc = hs_shm_check(base, size);
    if (rc != HS_SHM_OK)
        return rc;
    for (int t = 0; t < tries; ++t) {
        uint64_t s1 = __atomic_load_n(&h->seqlock, __ATOMIC_ACQUIRE);
        if (s1 & 1u)
            continue;
        memcpy(hdr, h, sizeof *hdr);
        uint32_t n = hdr->count;
        if (n > hdr->capacity)
            n = hdr->capacity;
        if (n > max)
            n = max;
        memcpy(recs, r, (size_t)n * sizeof *recs);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t s2 = __atomic_load_n(&h->seqlock, __ATOMIC_RELAXED);
        if (s1 == s2)
            return (int)n;
    }
    return HS_SHM_EBUSY;
}

#ifdef __cplusplus
}
#endif

#endif /* HS_SHM_H */
