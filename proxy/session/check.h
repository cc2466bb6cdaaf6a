#ifndef WCP_SESSION_CHECK_H
#define WCP_SESSION_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

/**
 * wl-cross-proxy --check: whether this guest can run the proxy as
 * configured. Writes one line per check to out, "ok", "PROBLEM" (with what
 * to do) or "not run" (with the check it needs), and a verdict: the
 * runtime directory, the render node and its driver (or the host
 * compositor in direct mode), and each cross-domain requirement of the
 * device probe (context init, blobs, host-visible memory, the capset, the
 * channels the host offers). Returns true when every check passed.
 */
bool check_run(const struct wcp_config *config, FILE *out);

#endif
