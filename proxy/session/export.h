#ifndef WCP_SESSION_EXPORT_H
#define WCP_SESSION_EXPORT_H

#include <stdbool.h>

/**
 * Tells the session where the display is: WAYLAND_DISPLAY=name goes into
 * the D-Bus activation environment and the systemd user manager's, so
 * that applications either of them starts find the proxy. It runs
 * dbus-update-activation-environment --systemd (package dbus-bin) and
 * waits for it, at most a few seconds. Nothing here is needed for the
 * proxy to run: when it cannot be done, a log line says why and the
 * result is false.
 */
bool export_display(const char *name);

#endif
