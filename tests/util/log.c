/*
 * The log facility (log.c): messages carry text from clients and hosts,
 * which must not start a line of its own or drive a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "test.h"

static char captured[1024];

static void capture(enum wcp_log_level level, const char *message, void *data) {
	snprintf(captured, sizeof(captured), "%s", message);
}

TEST(control_characters_are_escaped) {
	log_set_handler(capture, NULL);
	wcp_log(WCP_ERROR, "invalid global %s", "x\nstats: forged\x1b[31m\x7f");
	log_set_handler(NULL, NULL);
	test_log("%s", captured);
	test_assert(strcmp(captured, "invalid global x\\x0astats: forged\\x1b[31m\\x7f") == 0);
}

TEST(errno_suffix_and_printable_text_are_kept) {
	log_set_handler(capture, NULL);
	errno = ENOENT;
	wcp_log_errno(WCP_ERROR, "cannot open %s", "/tmp/é q.txt");
	log_set_handler(NULL, NULL);
	char want[256];
	test_format(want, sizeof(want), "cannot open /tmp/é q.txt: %s", strerror(ENOENT));
	test_assert(strcmp(captured, want) == 0);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
