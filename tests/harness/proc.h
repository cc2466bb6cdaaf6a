#ifndef WCP_TESTS_PROC_H
#define WCP_TESTS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/**
 * Helper processes of a test (compositors, proxies, clients). Each runs in
 * its own process group and dies with the test process (PR_SET_PDEATHSIG);
 * every one started is registered, so that a failing or timed-out test still
 * stops and reaps them all.
 */

struct wcp_proc {
	pid_t pid; // also its process group
	char name[64];
	bool reaped;
	int wait_status; // from waitpid, once reaped
};

struct wcp_proc_opts {
	const char *const *env; // "KEY=VALUE" to set in the child; NULL-terminated, may be NULL
	const char *cwd; // may be NULL
	const char *output; // file that gets stdout and stderr (appended); NULL = inherit
	int stdin_fd; // when > 0, becomes the child's stdin; else it reads /dev/null
	int stdout_fd; // when > 0, becomes the child's stdout (stderr still per `output`)
	int pass_fd; // when > 0, stays open in the child under the same number
};

/** Starts argv[0] (looked up in PATH); NULL if it could not be started. */
struct wcp_proc *proc_spawn(const char *const argv[], const struct wcp_proc_opts *opts);

/** Whether the process is still running (reaps it if it has exited). */
bool proc_alive(struct wcp_proc *proc);

/** Waits up to timeout_ms for the process to exit; true once it has. */
bool proc_wait(struct wcp_proc *proc, int timeout_ms);

/**
 * Waits up to timeout_ms for `path` to be a socket, which the process is to
 * create; false if it exits first or the time runs out.
 */
bool proc_wait_socket(struct wcp_proc *proc, const char *path, int timeout_ms);

/** Exit code once reaped: the status, or 128 + signal; -1 while running. */
int proc_exit_code(const struct wcp_proc *proc);

/**
 * Stops the process: SIGTERM to its group, SIGKILL after grace_ms, then
 * reaps it and frees `proc`. Returns its exit code (as proc_exit_code).
 * NULL is a no-op returning -1.
 */
int proc_stop(struct wcp_proc *proc, int grace_ms);

/** Default grace before SIGKILL. */
#define WCP_PROC_GRACE_MS 3000

/** Stops every registered process and reaps any other child of ours. */
void proc_stop_all(void);

/** The same for a signal handler: only async-signal-safe calls. */
void proc_kill_all_from_signal(void);

/**
 * Runs argv to completion, capturing its stdout into *out (NUL-terminated,
 * to be freed). Returns the exit code, or -1 if it could not be run or did
 * not finish within timeout_ms (it is then killed).
 */
int proc_run_capture(
	const char *const argv[], const struct wcp_proc_opts *opts, int timeout_ms, char **out);

/** Whether `name` is an executable in PATH (or a path to one). */
bool proc_have_program(const char *name);

/**
 * Points $variable at `path`, relative to the build directory (the parent of
 * the folder that holds the running program), unless it is already set.
 */
void proc_find_built(const char *variable, const char *path);

/** Milliseconds on the monotonic clock. */
long long proc_now_ms(void);

/** How many fds the process has open; -1 when that cannot be read. */
int proc_open_fds(pid_t pid);

/** Sleeps for ms milliseconds. */
void proc_sleep_ms(int ms);

#endif
