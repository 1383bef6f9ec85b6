/* Copies standard input to standard output in upper case, then reports
 * the number of lines and bytes read. */
#include <ctype.h>
#include <stdio.h>

int main(void) {
    long lines = 0, bytes = 0;
    int c;
    while ((c = getchar()) != EOF) {
        bytes++;
        if (c == '\n')
            lines++;
        putchar(toupper(c));
    }
    printf("lines=%ld bytes=%ld\n", lines, bytes);
    return 0;
}
