#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdleak.h"
#include "test_private.h"

// Provided by the linker for the section the TEST() entries live in.
extern const struct wcp_test __start_wcp_tests[];
extern const struct wcp_test __stop_wcp_tests[];

static unsigned int timeout_of(const struct wcp_test *test) {
	unsigned int timeout = test->timeout_s ? test->timeout_s : WCP_TEST_DEFAULT_TIMEOUT;
	const char *scale = getenv("WCP_TEST_TIMEOUT_SCALE");
	if (scale != NULL) {
		unsigned long factor = strtoul(scale, NULL, 10);
		if (factor >= 1 && factor <= 100) {
			timeout *= (unsigned int)factor;
		}
	}
	return timeout;
}

static void run_child(const struct wcp_test *test) {
	test_guard_process(timeout_of(test));

	struct wcp_fd_set before;
	if (!fdleak_snapshot(&before)) {
		test_error("cannot list open fds");
	}
	test->run();
	test_stop_helpers();
	if (!test->leaks_fds) {
		struct wcp_fd_set after;
		if (!fdleak_snapshot(&after)) {
			test_error("cannot list open fds");
		}
		if (fdleak_report(&before, &after, stderr) > 0) {
			test_fail("file descriptors leaked");
		}
	}
	exit(WCP_TEST_PASS);
}

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/** Waits for the child; kills it if it outlives its own timeout. */
static int wait_child(pid_t pid, unsigned int timeout_s) {
	double deadline = now_s() + timeout_s + 10;
	for (;;) {
		int status;
		pid_t ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid) {
			if (WIFEXITED(status)) {
				return WEXITSTATUS(status);
			}
			fprintf(stderr, "test child killed by signal %d\n", WTERMSIG(status));
			return WCP_TEST_FAIL;
		}
		if (ret < 0 && errno != EINTR) {
			perror("waitpid");
			return WCP_TEST_ERROR;
		}
		if (now_s() > deadline) {
			fprintf(stderr, "test child does not exit; killing it\n");
			kill(pid, SIGKILL);
			deadline = now_s() + 3600;
		}
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
	}
}

static bool selected(const struct wcp_test *test, int argc, char *argv[]) {
	if (argc < 2) {
		return true;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], test->name) == 0) {
			return true;
		}
	}
	return false;
}

/** Whether every name on the command line is a test's: a misspelt one would run nothing. */
static bool names_known(int argc, char *argv[]) {
	bool known = true;
	for (int i = 1; i < argc; i++) {
		const struct wcp_test *test = __start_wcp_tests;
		while (test < __stop_wcp_tests && strcmp(argv[i], test->name) != 0) {
			test++;
		}
		if (test == __stop_wcp_tests) {
			fprintf(stderr, "%s: no test is named %s\n", argv[0], argv[i]);
			known = false;
		}
	}
	return known;
}

int test_main(int argc, char *argv[]) {
	// Output of the parent and children interleaves sensibly line by line.
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (!names_known(argc, argv)) {
		return WCP_TEST_ERROR;
	}

	size_t passed = 0, failed = 0, skipped = 0, errors = 0;
	for (const struct wcp_test *test = __start_wcp_tests; test < __stop_wcp_tests; test++) {
		if (!selected(test, argc, argv)) {
			continue;
		}
		double start = now_s();
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return WCP_TEST_ERROR;
		}
		if (pid == 0) {
			test_current = test;
			run_child(test);
		}
		int status = wait_child(pid, timeout_of(test));
		switch (status) {
		case WCP_TEST_PASS:
			passed++;
			break;
		case WCP_TEST_SKIP:
			skipped++;
			break;
		case WCP_TEST_ERROR:
			errors++;
			break;
		default:
			failed++;
			break;
		}
		printf("%s %s (%.2f s)\n", test_status_word(status), test->name, now_s() - start);
	}

	size_t total = passed + failed + skipped + errors;
	printf("%zu tests: %zu passed, %zu failed, %zu skipped, %zu errors\n", total, passed,
		failed, skipped, errors);
	if (total == 0) {
		fprintf(stderr, "no test matched\n");
		return WCP_TEST_ERROR;
	}
	if (failed > 0 || errors > 0) {
		return WCP_TEST_FAIL;
	}
	if (skipped == total) {
		return WCP_TEST_SKIP;
	}
	return WCP_TEST_PASS;
}
