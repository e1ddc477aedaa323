/* Replays the fuzz corpus (tests/fuzz/corpus/) through the fuzz target, so
 * that every saved input — seeds and past crashes — runs in every test
 * build, sanitizers included. */
#include <dirent.h>
#include <stdlib.h>

#include "../fuzz/fuzz_dump.c"
#include "tap.h"

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	DIR *dp = opendir(dir);
	ok(dp != NULL, "corpus folder %s", dir);
	if (!dp)
		return tap_done();
	int files = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(1 << 24);
		size_t n = buf ? fread(buf, 1, 1 << 24, f) : 0;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
		files++;
		ok(1, "replayed %s (%zu bytes)", de->d_name, n);
	}
	closedir(dp);
	ok(files >= 10, "%d corpus files replayed", files);
	return tap_done();
}
