#ifndef WCP_TESTS_TEST_H
#define WCP_TESTS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/**
 * A small fork-per-test runner. Each TEST() runs in its own child process
 * with an alarm-based timeout and an fd-leak check; helper processes that a
 * test starts (see proc.h) are always stopped and reaped, whether the test
 * passes, fails, times out or crashes.
 *
 * A test program's exit status: 0 when every test passed, 77 when all were
 * skipped, 1 when any failed, 99 on a hard error of the harness itself.
 */

#ifdef NDEBUG
#error "tests must be built without NDEBUG"
#endif

enum {
	WCP_TEST_PASS = 0,
	WCP_TEST_FAIL = 1,
	WCP_TEST_SKIP = 77,
	WCP_TEST_ERROR = 99,
};

struct wcp_test {
	const char *name;
	void (*run)(void);
	unsigned int timeout_s; // 0 = the default
	bool leaks_fds; // skip the fd-leak check (the test checks it itself)
};

#define WCP_TEST_DEFAULT_TIMEOUT 30

#define TEST_OPTS(fn, ...) \
	static void fn(void); \
	__attribute__((used, section("wcp_tests"), \
		aligned(8))) static const struct wcp_test test_entry_##fn = { \
		.name = #fn, .run = fn, __VA_ARGS__}; \
	static void fn(void)

/** Declares a test case: TEST(name) { body }. */
#define TEST(fn) TEST_OPTS(fn, .timeout_s = 0)

/** Ends the current test as failed, printing where and why. */
#define test_fail(...) test_end_(WCP_TEST_FAIL, __FILE__, __LINE__, __VA_ARGS__)

/** Ends the current test as skipped; say what the machine lacks. */
#define test_skip(...) test_end_(WCP_TEST_SKIP, __FILE__, __LINE__, __VA_ARGS__)

/** Ends the current test with a hard error (the harness could not work). */
#define test_error(...) test_end_(WCP_TEST_ERROR, __FILE__, __LINE__, __VA_ARGS__)

/** Fails the test when cond is false. */
#define test_assert(cond) \
	do { \
		if (!(cond)) { \
			test_fail("assertion failed: %s", #cond); \
		} \
	} while (0)

__attribute__((noreturn, format(printf, 4, 5))) void test_end_(
	int status, const char *file, int line, const char *fmt, ...);

/** Prints a line tagged with the current test's name. */
__attribute__((format(printf, 1, 2))) void test_log(const char *fmt, ...);

/**
 * Removes the tree at `path` when the test ends, after its helpers have
 * stopped, however it ends. Kept when WCP_TEST_KEEP is set.
 */
void test_remove_at_end(const char *path);

/** Removes the tree at `path` now (kept when WCP_TEST_KEEP is set). */
void test_remove_tree(const char *path);

/**
 * Makes a private runtime dir (mode 0700) named after the test, exports it
 * as XDG_RUNTIME_DIR and writes its path into `path` (PATH_MAX bytes); it is
 * removed when the test ends. Ends the test with an error on failure.
 */
void test_runtime_dir_create(char *path);

/**
 * The whole file, NUL-terminated (free() it); *size, when not NULL, gets
 * its length without the NUL. NULL (errno set) when it cannot be read.
 */
char *test_read_file(const char *path, size_t *size);

/** Prints the last 40 lines of a helper's log file to stderr. */
void test_dump_log_tail(const char *path);

/** snprintf that ends the test with an error when the text does not fit. */
__attribute__((format(printf, 3, 4))) void test_format(
	char *dst, size_t size, const char *fmt, ...);

/** The name of the running test, for naming files and sockets. */
const char *test_name(void);

/**
 * Restarts the running test's timeout: the test now times out timeout_s
 * seconds from here, whatever its own timeout left.
 */
void test_set_timeout(unsigned int timeout_s);

/**
 * Guards a process that starts helpers outside test_main (as the demo
 * does): helpers are stopped and directories removed at exit, on SIGTERM,
 * SIGINT, and after timeout_s seconds.
 */
void test_guard_process(unsigned int timeout_s);

/** Runs the program's tests, or those named on the command line. */
int test_main(int argc, char *argv[]);

#endif
