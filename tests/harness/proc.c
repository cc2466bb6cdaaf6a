#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64

// Pids for the signal-handler path, which must not touch the structs.
static volatile pid_t registered_pids[MAX_PROCS];
static struct wcp_proc *registered[MAX_PROCS];

long long proc_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int proc_open_fds(pid_t pid) {
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (dir == NULL) {
		return -1;
	}
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		count += entry->d_name[0] != '.';
	}
	closedir(dir);
	return count;
}

void proc_sleep_ms(int ms) {
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static void register_proc(struct wcp_proc *proc) {
	for (size_t i = 0; i < MAX_PROCS; i++) {
		if (registered[i] == NULL) {
			registered[i] = proc;
			registered_pids[i] = proc->pid;
			return;
		}
	}
	fprintf(stderr, "too many helper processes; %s is not tracked\n", proc->name);
}

static void unregister_proc(struct wcp_proc *proc) {
	for (size_t i = 0; i < MAX_PROCS; i++) {
		if (registered[i] == proc) {
			registered[i] = NULL;
			registered_pids[i] = 0;
		}
	}
}

static void exec_child(const char *const argv[], const struct wcp_proc_opts *opts, pid_t parent) {
	// Dies with the test, even when the test is killed outright.
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) {
		_exit(127);
	}
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	alarm(0);

	int stdin_fd =
		opts->stdin_fd > 0 ? opts->stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (stdin_fd >= 0) {
		dup2(stdin_fd, STDIN_FILENO);
	}
	if (opts->output != NULL) {
		int fd = open(opts->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
	}
	if (opts->stdout_fd > 0) {
		dup2(opts->stdout_fd, STDOUT_FILENO);
	}
	if (opts->pass_fd > 0) {
		fcntl(opts->pass_fd, F_SETFD, 0);
	}
	for (const char *const *e = opts->env; e != NULL && *e != NULL; e++) {
		putenv((char *)*e);
	}
	if (opts->cwd != NULL && chdir(opts->cwd) < 0) {
		fprintf(stderr, "chdir %s: %s\n", opts->cwd, strerror(errno));
		_exit(127);
	}
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

struct wcp_proc *proc_spawn(const char *const argv[], const struct wcp_proc_opts *opts) {
	static const struct wcp_proc_opts defaults = {0};
	if (opts == NULL) {
		opts = &defaults;
	}
	struct wcp_proc *proc = calloc(1, sizeof(*proc));
	if (proc == NULL) {
		return NULL;
	}
	const char *base = strrchr(argv[0], '/');
	snprintf(proc->name, sizeof(proc->name), "%s", base != NULL ? base + 1 : argv[0]);

	pid_t parent = getpid();
	fflush(NULL);
	proc->pid = fork();
	if (proc->pid < 0) {
		fprintf(stderr, "fork for %s: %s\n", proc->name, strerror(errno));
		free(proc);
		return NULL;
	}
	if (proc->pid == 0) {
		exec_child(argv, opts, parent);
	}
	// Also set here, so that the group exists before anyone signals it.
	setpgid(proc->pid, proc->pid);
	register_proc(proc);
	return proc;
}

static bool reap(struct wcp_proc *proc, int flags) {
	if (proc->reaped) {
		return true;
	}
	for (;;) {
		int status;
		pid_t ret = waitpid(proc->pid, &status, flags);
		if (ret == proc->pid) {
			proc->reaped = true;
			proc->wait_status = status;
			return true;
		}
		if (ret < 0 && errno == EINTR) {
			continue;
		}
		return false;
	}
}

bool proc_alive(struct wcp_proc *proc) {
	return !reap(proc, WNOHANG);
}

bool proc_wait_socket(struct wcp_proc *proc, const char *path, int timeout_ms) {
	long long deadline = proc_now_ms() + timeout_ms;
	struct stat st;
	while (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		if (!proc_alive(proc) || proc_now_ms() > deadline) {
			return false;
		}
		proc_sleep_ms(5);
	}
	return true;
}

bool proc_wait(struct wcp_proc *proc, int timeout_ms) {
	long long deadline = proc_now_ms() + timeout_ms;
	while (!reap(proc, WNOHANG)) {
		if (proc_now_ms() >= deadline) {
			return false;
		}
		proc_sleep_ms(5);
	}
	return true;
}

int proc_exit_code(const struct wcp_proc *proc) {
	if (!proc->reaped) {
		return -1;
	}
	if (WIFEXITED(proc->wait_status)) {
		return WEXITSTATUS(proc->wait_status);
	}
	return 128 + WTERMSIG(proc->wait_status);
}

int proc_stop(struct wcp_proc *proc, int grace_ms) {
	if (proc == NULL) {
		return -1;
	}
	if (!proc->reaped) {
		kill(-proc->pid, SIGTERM);
		if (!proc_wait(proc, grace_ms)) {
			fprintf(stderr, "%s (pid %d) ignores SIGTERM; killing it\n", proc->name,
				(int)proc->pid);
			kill(-proc->pid, SIGKILL);
			reap(proc, 0);
		}
	}
	// Whatever else is left in its group goes too.
	kill(-proc->pid, SIGKILL);
	int code = proc_exit_code(proc);
	unregister_proc(proc);
	free(proc);
	return code;
}

/** Kills and reaps children that are not registered (orphans adopted as subreaper). */
static void sweep_children(void) {
	DIR *dir = opendir("/proc");
	if (dir == NULL) {
		return;
	}
	pid_t self = getpid();
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		char *end;
		long pid = strtol(entry->d_name, &end, 10);
		if (*end != '\0' || pid <= 0) {
			continue;
		}
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "re");
		if (f == NULL) {
			continue;
		}
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		// Fields after the parenthesised name: state, ppid.
		const char *close = strrchr(buf, ')');
		char state;
		long ppid;
		if (close == NULL || sscanf(close + 1, " %c %ld", &state, &ppid) != 2) {
			continue;
		}
		if (ppid == self) {
			kill((pid_t)pid, SIGKILL);
			waitpid((pid_t)pid, NULL, 0);
		}
	}
	closedir(dir);
}

void proc_stop_all(void) {
	for (size_t i = MAX_PROCS; i-- > 0;) {
		if (registered[i] != NULL) {
			proc_stop(registered[i], WCP_PROC_GRACE_MS);
		}
	}
	sweep_children();
}

void proc_kill_all_from_signal(void) {
	for (size_t i = 0; i < MAX_PROCS; i++) {
		if (registered_pids[i] > 0) {
			kill(-registered_pids[i], SIGTERM);
		}
	}
	for (int tick = 0; tick < 100; tick++) {
		bool any = false;
		for (size_t i = 0; i < MAX_PROCS; i++) {
			pid_t pid = registered_pids[i];
			if (pid <= 0) {
				continue;
			}
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				registered_pids[i] = 0;
				kill(-pid, SIGKILL);
			} else {
				any = true;
			}
		}
		if (!any) {
			return;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < MAX_PROCS; i++) {
		pid_t pid = registered_pids[i];
		if (pid > 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			registered_pids[i] = 0;
		}
	}
}

int proc_run_capture(
	const char *const argv[], const struct wcp_proc_opts *opts, int timeout_ms, char **out) {
	*out = NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return -1;
	}
	struct wcp_proc_opts with_pipe = opts != NULL ? *opts : (struct wcp_proc_opts){0};
	with_pipe.stdout_fd = fds[1];
	struct wcp_proc *proc = proc_spawn(argv, &with_pipe);
	close(fds[1]);
	if (proc == NULL) {
		close(fds[0]);
		return -1;
	}

	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	long long deadline = proc_now_ms() + timeout_ms;
	bool timed_out = false;
	while (buf != NULL) {
		long long left = deadline - proc_now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
		int ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR) {
			continue;
		}
		if (ret <= 0) {
			timed_out = ret == 0;
			break;
		}
		if (len + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fds[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	close(fds[0]);
	if (timed_out) {
		fprintf(stderr, "%s did not finish within %d ms\n", proc->name, timeout_ms);
	}
	int code = -1;
	if (!timed_out && proc_wait(proc, timeout_ms)) {
		code = proc_exit_code(proc);
	}
	proc_stop(proc, 100);
	if (buf == NULL || timed_out) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*out = buf;
	return code;
}

bool proc_have_program(const char *name) {
	if (strchr(name, '/') != NULL) {
		return access(name, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (path == NULL) {
		path = "/usr/bin:/bin";
	}
	while (*path != '\0') {
		const char *colon = strchr(path, ':');
		size_t len = colon != NULL ? (size_t)(colon - path) : strlen(path);
		char full[PATH_MAX];
		int n = snprintf(full, sizeof(full), "%.*s/%s", (int)len, path, name);
		if (n > 0 && (size_t)n < sizeof(full) && access(full, X_OK) == 0) {
			return true;
		}
		path += len;
		if (*path == ':') {
			path++;
		}
	}
	return false;
}

void proc_find_built(const char *variable, const char *path) {
	if (getenv(variable) != NULL) {
		return;
	}
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		return;
	}
	self[len] = '\0';
	char full[PATH_MAX];
	int n = snprintf(full, sizeof(full), "%s/%s", dirname(dirname(self)), path);
	if (n > 0 && (size_t)n < sizeof(full)) {
		setenv(variable, full, 1);
	}
}
