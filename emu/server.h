#ifndef WCP_EMU_SERVER_H
#define WCP_EMU_SERVER_H

#include "emu.h"

struct wcp_emu_server;

/** Listens on path (SOCK_SEQPACKET); NULL (logged) on failure. */
struct wcp_emu_server *emu_server_create(struct wcp_emu_host *host, const char *path);

/** Closes every connection and removes the socket. NULL is a no-op. */
void emu_server_destroy(struct wcp_emu_server *server);

#endif
