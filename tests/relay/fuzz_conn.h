#ifndef WCP_TESTS_RELAY_FUZZ_CONN_H
#define WCP_TESTS_RELAY_FUZZ_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-util.h>

/**
 * A raw connection to the proxy for the fuzzer: it writes requests word by
 * word (so they may be wrong in ways libwayland would not send), and reads
 * the events to follow the objects the server makes and ends, the globals
 * announced and the protocol error, if one comes.
 */

#define FUZZ_MAX_OBJECTS 192
#define FUZZ_MAX_GLOBALS 64
#define FUZZ_MAX_POOLS 16
#define FUZZ_IN_SIZE 65536

/** An object of the connection, as the fuzzer tracks it. */
struct fuzz_object {
	uint32_t id;
	const struct wl_interface *interface;
	uint32_t version;
	int pool; // wl_shm_pool: index into fuzz_conn.pools; else -1
	size_t pool_size; // wl_shm_pool: its size, as last told
};

/** A global the registry announced, of an interface the proxy relays. */
struct fuzz_global {
	uint32_t name, version;
	const struct wl_interface *interface;
};

/** A client's shm pool memory, which it draws into and may shrink. */
struct fuzz_pool {
	int fd;
	uint8_t *data;
	size_t map_size, size; // mapped; the file's now
};

/** A raw client connection: what it has made and what came back. */
struct fuzz_conn {
	int fd;
	uint32_t next_id;
	struct fuzz_object objects[FUZZ_MAX_OBJECTS];
	size_t object_count;
	struct fuzz_global globals[FUZZ_MAX_GLOBALS];
	size_t global_count;
	struct fuzz_pool pools[FUZZ_MAX_POOLS];
	size_t pool_count;
	uint8_t in[FUZZ_IN_SIZE];
	size_t in_have;
	bool registry_done; // the sync after get_registry came back
	size_t bound; // globals bound once each at the start
	bool errored; // a wl_display.error came
	uint32_t error_code;
	unsigned int sent;
	unsigned int fds_in; // fds that came with events
};

/** Connects to the socket at `path` and sends get_registry (id 2) and sync (id 3). */
void fuzz_conn_open(struct fuzz_conn *conn, const char *path);

/** Closes the socket and the pools' memory; a closed connection has fd -1. */
void fuzz_conn_close(struct fuzz_conn *conn);

/** Reads what has come; false once the proxy has hung up. */
bool fuzz_conn_read(struct fuzz_conn *conn);

/** Sends one request, reading meanwhile; false once the proxy has hung up. */
bool fuzz_conn_send(struct fuzz_conn *conn, const uint32_t *words, size_t size, const int *fds,
	size_t fd_count);

/** The object with this id; NULL when there is none. */
struct fuzz_object *fuzz_conn_find(struct fuzz_conn *conn, uint32_t id);

/** Tracks an object; NULL (and nothing tracked) when the table is full or the id in use. */
struct fuzz_object *fuzz_conn_add(struct fuzz_conn *conn, uint32_t id,
	const struct wl_interface *interface, uint32_t version);

/** Forgets an object. */
void fuzz_conn_remove(struct fuzz_conn *conn, uint32_t id);

/** The version a request or event needs: the digits its signature starts with. */
uint32_t fuzz_conn_since(const struct wl_message *msg);

/**
 * The type of the next argument in a signature from `p` on, past version
 * digits and nullable marks; '\0' at the end. *nullable tells whether it
 * may be null.
 */
const char *fuzz_conn_next_arg(const char *p, bool *nullable);

/** Whether request `opcode` of `interface` destroys its object. */
bool fuzz_conn_is_destructor(const struct wl_interface *interface, uint32_t opcode);

#endif
