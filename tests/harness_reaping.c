/*
 * Whatever way a test ends, the helpers it started are gone: the victim
 * tests fail, time out, crash and are stopped (SIGTERM) while their weston
 * runs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"
#include "weston.h"

/** Alive means neither gone nor a zombie waiting for a parent that never reaps. */
static bool process_alive(pid_t pid) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	char buf[512];
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	const char *close = strrchr(buf, ')');
	return close != NULL && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

/**
 * Runs one victim test and checks its exit code, and that its weston is
 * gone; with `terminate`, the victim's process group is sent SIGTERM, as
 * meson stops a test, once its weston runs.
 */
static void run_victim(const char *name, int want_code, bool terminate) {
	if (!proc_have_program("weston")) {
		test_skip("weston is not installed (Debian package weston)");
	}
	const char *victim = getenv("WCP_HARNESS_VICTIM");
	if (victim == NULL) {
		test_error("WCP_HARNESS_VICTIM is not set (run the tests through meson)");
	}
	char dir[] = "/tmp/wcp-reaping-XXXXXX";
	test_assert(mkdtemp(dir) != NULL);
	test_remove_at_end(dir);
	char pidfile[sizeof(dir) + 16], env_pidfile[sizeof(pidfile) + 32], log[sizeof(dir) + 16];
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	snprintf(env_pidfile, sizeof(env_pidfile), "WCP_VICTIM_PIDFILE=%s", pidfile);
	snprintf(log, sizeof(log), "%s/log", dir);

	const char *argv[] = {victim, name, NULL};
	const char *env[] = {env_pidfile, NULL};
	struct wcp_proc *proc =
		proc_spawn(argv, &(struct wcp_proc_opts){.env = env, .output = log});
	test_assert(proc != NULL);
	if (terminate) {
		struct stat st;
		for (long long deadline = proc_now_ms() + 30000;
			stat(pidfile, &st) != 0 || st.st_size == 0;) {
			test_assert(proc_now_ms() < deadline && proc_alive(proc));
			proc_sleep_ms(10);
		}
		test_assert(kill(-proc->pid, SIGTERM) == 0);
	}
	test_assert(proc_wait(proc, 30000));
	int code = proc_exit_code(proc);
	proc_stop(proc, 0);

	FILE *f = fopen(pidfile, "re");
	test_assert(f != NULL);
	int weston_pid = 0;
	test_assert(fscanf(f, "%d", &weston_pid) == 1 && weston_pid > 0);
	fclose(f);
	test_log("victim %s exited with %d; its weston was pid %d", name, code, weston_pid);
	test_assert(code == want_code);

	long long deadline = proc_now_ms() + 5000;
	while (process_alive(weston_pid) && proc_now_ms() < deadline) {
		proc_sleep_ms(20);
	}
	test_assert(!process_alive(weston_pid));
}

TEST(failed_test_stops_weston) {
	run_victim("fails_with_weston", WCP_TEST_FAIL, false);
}

TEST(timed_out_test_stops_weston) {
	run_victim("hangs_with_weston", WCP_TEST_FAIL, false);
}

TEST(crashed_test_stops_weston) {
	run_victim("crashes_with_weston", WCP_TEST_FAIL, false);
}

TEST(stopped_test_stops_weston) {
	run_victim("waits_with_weston", 128 + SIGTERM, true);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
