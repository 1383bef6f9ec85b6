/* Prints a line, then exits with the status given as argv[1] through
 * exit(), so buffered output must be flushed on the way out. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int status = argc > 1 ? atoi(argv[1]) : 0;
    printf("exiting with %d\n", status);
    exit(status);
}
