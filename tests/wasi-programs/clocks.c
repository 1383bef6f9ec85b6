/* Checks properties of the clocks rather than their values, so the output
 * is the same on every run: the wall clock is past 2020, the monotonic
 * clock never goes back, a 20 ms sleep takes at least 20 ms, resolutions
 * are positive. */
#include <stdio.h>
#include <time.h>

static long long ns(struct timespec t) {
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    struct timespec real, a, b, res;
    clock_gettime(CLOCK_REALTIME, &real);
    printf("realtime-after-2020=%d\n", real.tv_sec > 1577836800);
    printf("time()-agrees=%d\n", (long long)time(NULL) - real.tv_sec <= 1);

    clock_gettime(CLOCK_MONOTONIC, &a);
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (ns(b) < ns(a))
            ok = 0;
        a = b;
    }
    printf("monotonic-nondecreasing=%d\n", ok);

    struct timespec nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long slept = ns(b) - ns(a);
    printf("slept-at-least-20ms=%d\n", slept >= 20 * 1000 * 1000);
    printf("slept-under-5s=%d\n", slept < 5LL * 1000 * 1000 * 1000);

    printf("res-realtime-positive=%d\n", clock_getres(CLOCK_REALTIME, &res) == 0 && ns(res) > 0);
    printf("res-monotonic-positive=%d\n", clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns(res) > 0);
    return 0;
}
