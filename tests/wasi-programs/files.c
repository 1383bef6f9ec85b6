/* File I/O inside the directory named by argv[1]: create, write, seek,
 * read back, append, truncate, stat, rename, remove, mkdir/rmdir. Prints
 * what it observes; leaves "kept.txt" and "sub/inner.txt" behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* DIR/NAME, in one of two buffers used in turn, so a call can take two
 * paths. */
static const char *at(const char *dir, const char *name) {
    static char paths[2][4096];
    static int next;
    char *path = paths[next];
    next ^= 1;
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    return path;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    const char *dir = argv[1];

    int fd = open(at(dir, "data.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 1; }
    const char *text = "hello, file\nsecond line\n";
    printf("write=%zd\n", write(fd, text, strlen(text)));
    printf("seek=%lld\n", (long long)lseek(fd, 7, SEEK_SET));
    char buf[64] = {0};
    ssize_t n = read(fd, buf, 4);
    printf("read=%zd [%.*s]\n", n, (int)n, buf);
    printf("tell=%lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    printf("end=%lld\n", (long long)lseek(fd, 0, SEEK_END));
    printf("pread=%zd\n", pread(fd, buf, 6, 0));
    printf("pread-text=[%.6s]\n", buf);
    printf("ftruncate=%d\n", ftruncate(fd, 12));
    struct stat st;
    fstat(fd, &st);
    printf("size-after-truncate=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    close(fd);

    FILE *f = fopen(at(dir, "data.txt"), "a");
    fputs("appended\n", f);
    fclose(f);
    f = fopen(at(dir, "data.txt"), "r");
    while (fgets(buf, sizeof buf, f))
        printf("line: %s", buf);
    fclose(f);

    printf("rename=%d\n", rename(at(dir, "data.txt"), at(dir, "kept.txt")) == 0);
    printf("old-gone=%d\n", access(at(dir, "data.txt"), F_OK) != 0 && errno == ENOENT);
    printf("stat-kept=%d\n", stat(at(dir, "kept.txt"), &st) == 0 ? (int)st.st_size : -1);

    printf("mkdir=%d\n", mkdir(at(dir, "sub"), 0755));
    f = fopen(at(dir, "sub/inner.txt"), "w");
    fputs("inner\n", f);
    fclose(f);
    printf("mkdir-again-errno-EEXIST=%d\n", mkdir(at(dir, "sub"), 0755) != 0 && errno == EEXIST);
    printf("rmdir-nonempty-fails=%d\n", rmdir(at(dir, "sub")) != 0);
    printf("mkdir-tmp=%d\n", mkdir(at(dir, "tmp"), 0755));
    printf("rmdir-tmp=%d\n", rmdir(at(dir, "tmp")));

    f = fopen(at(dir, "scratch"), "w");
    fclose(f);
    printf("unlink=%d\n", unlink(at(dir, "scratch")));
    printf("open-missing-ENOENT=%d\n", open(at(dir, "missing"), O_RDONLY) < 0 && errno == ENOENT);
    return 0;
}
