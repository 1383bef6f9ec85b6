/* A sort with comparator callbacks: a generic merge sort, in the shape of
 * qsort, sorts records by one of four keys; every comparison is a call
 * through the comparator pointer, a `call_indirect`. */
#include "common.h"

struct record {
    uint32_t id;
    uint32_t price;
    uint32_t weight;
    uint32_t rank;
};

typedef int (*comparator)(const struct record *, const struct record *);

static int by_id(const struct record *a, const struct record *b) { return (a->id > b->id) - (a->id < b->id); }
static int by_price(const struct record *a, const struct record *b) {
    return (a->price > b->price) - (a->price < b->price);
}
static int by_weight_desc(const struct record *a, const struct record *b) {
    return (a->weight < b->weight) - (a->weight > b->weight);
}
static int by_rank_then_id(const struct record *a, const struct record *b) {
    if (a->rank != b->rank) return (a->rank > b->rank) - (a->rank < b->rank);
    return by_id(a, b);
}

static const comparator comparators[4] = {by_id, by_price, by_weight_desc, by_rank_then_id};

#define COUNT 64u

/* Sorts `items[0..count)` stably, using `scratch` of the same size. */
static void merge_sort(struct record *items, struct record *scratch, uint32_t count, comparator cmp) {
    for (uint32_t width = 1; width < count; width *= 2) {
        for (uint32_t lo = 0; lo < count; lo += 2 * width) {
            uint32_t mid = lo + width < count ? lo + width : count;
            uint32_t hi = lo + 2 * width < count ? lo + 2 * width : count;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) scratch[k++] = cmp(&items[j], &items[i]) < 0 ? items[j++] : items[i++];
            while (i < mid) scratch[k++] = items[i++];
            while (j < hi) scratch[k++] = items[j++];
        }
        for (uint32_t k = 0; k < count; k++) items[k] = scratch[k];
    }
}

/* One iteration sorts COUNT records; n counts comparisons' worth of work
 * in rounds of COUNT records. */
RUN_FUNCTION {
    struct record items[COUNT], scratch[COUNT];
    uint32_t state = (uint32_t)seed | 1;
    uint32_t acc = (uint32_t)seed;
    for (int32_t round = 0; round * (int32_t)COUNT < n; round++) {
        for (uint32_t k = 0; k < COUNT; k++) {
            state = next_random(state);
            items[k].id = state & 0xFFFF;
            items[k].price = state >> 16;
            items[k].weight = (state >> 8) & 0xFFF;
            items[k].rank = state & 7;
        }
        merge_sort(items, scratch, COUNT, comparators[(uint32_t)round & 3]);
        for (uint32_t k = 0; k < COUNT; k += 8) acc = mix(acc, items[k].id + items[k].price);
    }
    return (int32_t)acc;
}
