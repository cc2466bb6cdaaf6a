#include "util/sigbus.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "util/copy.h"

static sigjmp_buf copy_jump;
static volatile sig_atomic_t copying;

static void handle_sigbus(int sig, siginfo_t *info, void *context) {
	if (copying) {
		siglongjmp(copy_jump, 1);
	}
	// Not ours: die as the signal would have made us.
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

bool sigbus_init(void) {
	struct sigaction sa = {.sa_sigaction = handle_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) == 0;
}

bool sigbus_copy_rows(
	const struct wcp_copy_rows *copies, size_t count, bool evict, size_t *evicted) {
	// The mask is not saved (a system call per copy): the handler runs with
	// SA_NODEFER and an empty sa_mask, so jumping out of it changes nothing.
	// Nor is VZEROUPPER owed after a jump out of the vector loop: Linux
	// runs the handler with the vector registers in their initial state
	// (the interrupted ones stay in the signal frame), and the jump keeps it.
	if (sigsetjmp(copy_jump, 0) != 0) {
		copying = 0;
		return false;
	}
	size_t total = 0;
	for (size_t i = 0; i < count; i++) {
		total += copies[i].row_bytes * copies[i].rows;
	}
	void *(*copy)(void *, const void *, size_t) = memcpy;
	if (total >= WCP_COPY_STREAM_MIN) {
		copy = evict ? copy_stream_evict : copy_stream;
	}
	if (copy == copy_stream_evict && evicted != NULL) {
		*evicted += total;
	}
	copying = 1;
	for (size_t i = 0; i < count; i++) {
		const struct wcp_copy_rows *c = &copies[i];
		if (c->row_bytes == c->dst_stride && c->row_bytes == c->src_stride) {
			// Whole rows: one block.
			copy(c->dst, c->src, c->row_bytes * c->rows);
			continue;
		}
		for (size_t row = 0; row < c->rows; row++) {
			copy(c->dst + row * c->dst_stride, c->src + row * c->src_stride,
				c->row_bytes);
		}
	}
	copying = 0;
	return true;
}
