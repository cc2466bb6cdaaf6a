#ifndef WCP_TESTS_TEST_PRIVATE_H
#define WCP_TESTS_TEST_PRIVATE_H

#include "test.h"

/* Shared by test.c and runner.c; tests use test.h. */

/** The test running in this process; NULL in the runner and the demo. */
extern const struct wcp_test *test_current;

/** "PASS", "FAIL", "SKIP" or "ERROR" for an exit status. */
const char *test_status_word(int status);

/** Stops every helper and removes the directories registered for the end. */
void test_stop_helpers(void);

#endif
