#ifndef WCP_TESTS_WLINFO_H
#define WCP_TESTS_WLINFO_H

/**
 * The globals a compositor offers, as wayland-info lists them: one
 * "interface version" line per global, in the order listed. Free with free().
 */

/** From a file holding wayland-info's output. Ends the test on failure. */
char *wlinfo_parse_file(const char *path);

/** Runs wayland-info on the display in `display_env` ("WAYLAND_DISPLAY=..."). */
char *wlinfo_globals(const char *display_env);

#endif
