/* Draws random bytes with getentropy and checks properties that hold for
 * any good source (with overwhelming probability): two draws differ, all
 * 256 byte values turn up in 64 KiB, no value is wildly over-represented. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char buf[65536];

int main(void) {
    unsigned char a[32], b[32];
    printf("getentropy=%d\n", getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0);
    printf("draws-differ=%d\n", memcmp(a, b, sizeof a) != 0);

    for (size_t off = 0; off < sizeof buf; off += 256)
        getentropy(buf + off, 256);
    unsigned counts[256] = {0};
    for (size_t i = 0; i < sizeof buf; i++)
        counts[buf[i]]++;
    int all_seen = 1, max = 0;
    for (int v = 0; v < 256; v++) {
        if (!counts[v])
            all_seen = 0;
        if ((int)counts[v] > max)
            max = counts[v];
    }
    printf("all-byte-values-seen=%d\n", all_seen);
    printf("max-count-plausible=%d\n", max < 512); /* expected 256 each */
    return 0;
}
