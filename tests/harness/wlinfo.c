#include "wlinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "test.h"

static char *parse(FILE *f) {
	size_t cap = 16384, len = 0;
	char *out = calloc(1, cap);
	if (out == NULL) {
		test_error("out of memory");
	}
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		char name[128];
		unsigned int version;
		if (sscanf(line, "interface: '%127[^']', version: %u", name, &version) != 2) {
			continue;
		}
		int n = snprintf(out + len, cap - len, "%s %u\n", name, version);
		if (n < 0 || (size_t)n >= cap - len) {
			test_error("wayland-info listed too many globals");
		}
		len += (size_t)n;
	}
	return out;
}

char *wlinfo_parse_file(const char *path) {
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		test_error("cannot read %s", path);
	}
	char *out = parse(f);
	fclose(f);
	return out;
}

char *wlinfo_globals(const char *display_env) {
	if (!proc_have_program("wayland-info")) {
		test_skip("wayland-info is not installed (Debian package wayland-utils)");
	}
	const char *argv[] = {"wayland-info", NULL};
	const char *env[] = {display_env, NULL};
	char *text;
	int code = proc_run_capture(argv, &(struct wcp_proc_opts){.env = env}, 10000, &text);
	if (code != 0) {
		free(text);
		test_fail("wayland-info exited with %d", code);
	}
	FILE *f = fmemopen(text, strlen(text), "r");
	if (f == NULL) {
		test_error("fmemopen failed");
	}
	char *out = parse(f);
	fclose(f);
	free(text);
	return out;
}
