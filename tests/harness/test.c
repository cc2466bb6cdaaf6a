#include "test.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdleak.h"
#include "proc.h"
#include "test_private.h"

const struct wcp_test *test_current;

const char *test_name(void) {
	return test_current != NULL ? test_current->name : "main";
}

void test_log(const char *fmt, ...) {
	va_list args;
	va_start(args, fmt);
	fprintf(stderr, "[%s] ", test_name());
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
}

const char *test_status_word(int status) {
	switch (status) {
	case WCP_TEST_PASS:
		return "PASS";
	case WCP_TEST_SKIP:
		return "SKIP";
	case WCP_TEST_ERROR:
		return "ERROR";
	default:
		return "FAIL";
	}
}

void test_end_(int status, const char *file, int line, const char *fmt, ...) {
	const char *word = test_status_word(status);
	va_list args;
	va_start(args, fmt);
	fprintf(stderr, "[%s] %s at %s:%d: ", test_name(), word, file, line);
	vfprintf(stderr, fmt, args);
	fputc('\n', stderr);
	va_end(args);
	// exit() runs the atexit handler that stops the test's helpers.
	exit(status);
}

#define MAX_END_DIRS 16

static char end_dirs[MAX_END_DIRS][PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
	remove(path);
	return 0;
}

void test_remove_tree(const char *path) {
	if (path[0] == '\0') {
		return;
	}
	if (getenv("WCP_TEST_KEEP") != NULL) {
		test_log("keeping %s", path);
		return;
	}
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void test_remove_at_end(const char *path) {
	for (size_t i = 0; i < MAX_END_DIRS; i++) {
		if (end_dirs[i][0] == '\0') {
			snprintf(end_dirs[i], sizeof(end_dirs[i]), "%s", path);
			return;
		}
	}
	test_log("too many directories to remove at the end; %s stays", path);
}

void test_runtime_dir_create(char *path) {
	const char *tmp = getenv("TMPDIR");
	test_format(path, PATH_MAX, "%s/wcp-%s-XXXXXX", tmp != NULL ? tmp : "/tmp", test_name());
	if (mkdtemp(path) == NULL) {
		test_error("mkdtemp %s: %s", path, strerror(errno));
	}
	// mkdtemp already makes it 0700, which libwayland insists on.
	setenv("XDG_RUNTIME_DIR", path, 1);
	test_remove_at_end(path);
}

char *test_read_file(const char *path, size_t *size) {
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return NULL;
	}
	size_t len = 0, cap = 1 << 16;
	char *data = malloc(cap);
	while (data != NULL) {
		len += fread(data + len, 1, cap - len - 1, f);
		if (len < cap - 1) {
			break;
		}
		char *bigger = realloc(data, cap * 2);
		if (bigger == NULL) {
			free(data);
			data = NULL;
			errno = ENOMEM;
			break;
		}
		data = bigger;
		cap *= 2;
	}
	if (data != NULL && ferror(f) != 0) {
		free(data);
		data = NULL;
		errno = EIO;
	}
	fclose(f);
	if (data == NULL) {
		return NULL;
	}
	data[len] = '\0';
	if (size != NULL) {
		*size = len;
	}
	return data;
}

void test_dump_log_tail(const char *path) {
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return;
	}
	char line[512];
	char lines[40][512];
	size_t count = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		snprintf(lines[count % 40], sizeof(lines[0]), "%s", line);
		count++;
	}
	fclose(f);
	size_t first = count > 40 ? count - 40 : 0;
	fprintf(stderr, "--- last lines of %s ---\n", path);
	for (size_t i = first; i < count; i++) {
		fputs(lines[i % 40], stderr);
	}
}

void test_format(char *dst, size_t size, const char *fmt, ...) {
	va_list args;
	va_start(args, fmt);
	int len = vsnprintf(dst, size, fmt, args);
	va_end(args);
	if (len < 0 || (size_t)len >= size) {
		test_error("text too long for its buffer: %s", dst);
	}
}

static void handle_alarm(int sig) {
	static const char msg[] = "timed out or interrupted; stopping helper processes\n";
	ssize_t ret = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ret;
	proc_kill_all_from_signal();
	_exit(WCP_TEST_ERROR);
}

void test_stop_helpers(void) {
	proc_stop_all();
	for (size_t i = 0; i < MAX_END_DIRS; i++) {
		test_remove_tree(end_dirs[i]);
		end_dirs[i][0] = '\0';
	}
}

void test_set_timeout(unsigned int timeout_s) {
	alarm(timeout_s);
}

void test_guard_process(unsigned int timeout_s) {
	struct sigaction sa = {.sa_handler = handle_alarm};
	sigaction(SIGALRM, &sa, NULL);
	// meson's own timeout sends SIGTERM; that must also stop helpers.
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	atexit(test_stop_helpers);
	// Orphaned grandchildren (a helper's own children) become ours to reap.
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	alarm(timeout_s);
}
