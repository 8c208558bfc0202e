/* Prints the replicated store a hotstandbyd publishes in POSIX shared memory, as one JSON object,
 * read with nothing but repl/hs_shm.h: the system tests' witness of what a module holds that does
 * not ask the daemon.
 *
 *   hs_shm_dump NAME        (NAME as in node.shm_name, e.g. /hotstandby)
 *
 * Exit 0 and the JSON on stdout; 1 and a message on stderr when the region cannot be read. */
#include "repl/hs_shm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: hs_shm_dump NAME\n");
        return 1;
    }
    int fd = shm_open(argv[1], O_RDONLY, 0);
    if (fd < 0) {
        perror("shm_open");
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(struct hs_shm_header)) {
        fprintf(stderr, "region too small\n");
        return 1;
    }
    size_t size = (size_t)st.st_size;
    void* base = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    const struct hs_shm_header* h = (const struct hs_shm_header*)base;
    uint32_t cap = h->capacity;
    struct hs_shm_header hdr;
    struct hs_shm_record* recs = calloc(cap ? cap : 1, sizeof *recs);
    int n = recs ? hs_shm_read(base, size, &hdr, recs, cap, 1000) : -1;
    if (n < 0) {
        fprintf(stderr, "hs_shm_read: %d\n", n);
        return 1;
    }
    printf("{\"generation\":%llu,\"role\":%u,\"readiness\":%u,\"epoch\":%llu,\"seq\":[%llu,%llu],"
           "\"digest\":[\"%016llx\",\"%016llx\"],\"count\":%u,\"records\":[",
           (unsigned long long)hdr.generation, hdr.role, hdr.readiness,
           (unsigned long long)hdr.epoch, (unsigned long long)hdr.seq[0],
           (unsigned long long)hdr.seq[1], (unsigned long long)hdr.digest[0],
           (unsigned long long)hdr.digest[1], hdr.count);
    for (int k = 0; k < n; ++k) {
        const struct hs_shm_record* r = &recs[k];
        printf("%s{\"kind\":%u,\"index\":%u,\"epoch\":%llu,\"seq\":%llu,\"i\":[", k ? "," : "",
               r->kind, r->index, (unsigned long long)r->epoch, (unsigned long long)r->seq);
        for (int j = 0; j < 8; ++j) {
            printf("%s%lld", j ? "," : "", (long long)r->i[j]);
        }
        printf("]}");
    }
    printf("]}\n");
    free(recs);
    munmap(base, size);
    return 0;
}
