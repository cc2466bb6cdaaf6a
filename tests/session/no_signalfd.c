/*
 * Preloaded into wl-cross-proxy by the session test: signalfd() fails as
 * it does when the process has no fd left, so that the proxy meets a loop
 * that cannot watch for its signals.
 */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>

int signalfd(int fd, const sigset_t *mask, int flags) {
	(void)fd;
	(void)mask;
	(void)flags;
	errno = EMFILE;
	return -1;
}
