/* Creates a few entries in the directory named by argv[1], then lists it
 * with opendir/readdir, sorted by name, with each entry's type. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    char path[4096];
    const char *files[] = {"b.txt", "a.txt", "c.log"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[1], files[i]);
        FILE *f = fopen(path, "w");
        fprintf(f, "%d\n", i);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/%s", argv[1], "dir");
    mkdir(path, 0755);

    DIR *d = opendir(argv[1]);
    if (!d) { perror("opendir"); return 1; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        char kind = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : '?';
        char *s = malloc(strlen(e->d_name) + 3);
        sprintf(s, "%s %c", e->d_name, kind);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (int i = 0; i < n; i++)
        printf("%s\n", names[i]);
    printf("entries=%d\n", n);
    return 0;
}
