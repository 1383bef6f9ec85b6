/* Prints the arguments after the program name and the whole environment,
 * one per line, in the order the program receives them. */
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    int n = 0;
    for (char **e = environ; *e; e++, n++)
        printf("env[%d]=[%s]\n", n, *e);
    printf("envc=%d\n", n);
    return 0;
}
