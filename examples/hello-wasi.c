/* A WASI command for the README: greets its arguments, or the world, and
 * counts the entries of the directory given with `--dir DIR::/`. Build it
 * with tests/wasi-programs/build.sh. */
#include <dirent.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("Hello, world!\n");
    }
    for (int i = 1; i < argc; i++) {
        printf("Hello, %s!\n", argv[i]);
    }
    DIR *root = opendir("/");
    if (root) {
        int n = 0;
        while (readdir(root))
            n++;
        closedir(root);
        printf("/ has %d entries\n", n - 2);
    }
    return 0;
}
