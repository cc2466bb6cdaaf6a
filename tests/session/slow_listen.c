/*
 * Preloaded into wl-cross-proxy by the session test: listen() waits a
 * while before it listens, which widens the moment between a socket's
 * bind and its listen from microseconds to something a client can meet.
 */
#include <dlfcn.h>
#include <sys/socket.h>
#include <time.h>

#define SLOW_LISTEN_MS 300

int listen(int fd, int backlog) {
	int (*real_listen)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
	struct timespec wait = {0, SLOW_LISTEN_MS * 1000000L};
	nanosleep(&wait, NULL);
	return real_listen(fd, backlog);
}
