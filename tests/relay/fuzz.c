/*
 * Random requests from several raw connections at once: mostly well formed
 * (live objects of the right interface, fresh ids, plausible sizes), with a
 * few wrong ones mixed in, on every interface the proxy relays, while the
 * clients draw into and shrink their shm pools. The proxy must end only the
 * connections that erred, each with a wl_display.error, and carry on: a
 * client drawing beside them keeps getting its frames done, and the proxy
 * exits cleanly at the end (under the sanitizers, with no leak).
 *
 * The host is the test's own (fuzz_host.h), which takes whatever libwayland
 * lets through: connections live long enough to get deep, and only the
 * proxy is under test (weston 10 crashes on some of these sequences, such
 * as a popup that is its own parent). It also sends random events of its
 * own, whose fds must reach the clients.
 *
 * WCP_FUZZ_SEED and WCP_FUZZ_MESSAGES change the run (the seed is logged),
 * WCP_FUZZ_VERBOSE logs each error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "fuzz_conn.h"
#include "fuzz_host.h"
#include "proc.h"
#include "relay.h"
#include "test.h"

#define CONNECTIONS 4
#define MESSAGES_PER_CONNECTION 600 // then it hangs up and connects again
#define MAX_WORDS 256 // of one request
#define HOST_SOCKET "wcp-fuzz-host"

struct fuzz_stats {
	unsigned long messages, wrong, connections, commits, shrunk;
	unsigned long errors, by_code[8]; // connections ended with a protocol error, by code
	unsigned long hangups_without_error;
	unsigned long fds_in; // that came with the host's events
};

static uint64_t rng_state;

/** A number below `below` (xorshift64*); any 32-bit number for 0. */
static uint32_t rnd(uint32_t below) {
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	uint64_t value = (rng_state * 0x2545f4914f6cdd1dull) >> 32;
	return below == 0 ? (uint32_t)value : (uint32_t)(value % below);
}

static bool chance(uint32_t percent) {
	return rnd(100) < percent;
}

/** A 32-bit argument: mostly small, sometimes at the edges. */
static uint32_t random_int(void) {
	uint32_t pick = rnd(100);
	if (pick < 70) {
		return rnd(8);
	}
	if (pick < 85) {
		return rnd(1024);
	}
	if (pick < 93) {
		static const uint32_t edges[] = {0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x10000,
			0xffff, 4096, 0x7ffffff0};
		return edges[rnd(sizeof(edges) / sizeof(edges[0]))];
	}
	return rnd(0);
}

/** A live object of `interface` (any, when NULL); 0 when there is none. */
static uint32_t pick_object(struct fuzz_conn *conn, const struct wl_interface *interface) {
	uint32_t found[FUZZ_MAX_OBJECTS];
	size_t count = 0;
	for (size_t i = 0; i < conn->object_count; i++) {
		if (interface == NULL || conn->objects[i].interface == interface ||
			strcmp(conn->objects[i].interface->name, interface->name) == 0) {
			found[count++] = conn->objects[i].id;
		}
	}
	return count == 0 ? 0 : found[rnd((uint32_t)count)];
}

/** Makes a pool's memory: a memfd of `size` bytes, mapped; -1 when the table is full. */
static int pool_create(struct fuzz_conn *conn, size_t size) {
	if (conn->pool_count == FUZZ_MAX_POOLS) {
		return -1;
	}
	int fd = memfd_create("fuzz-pool", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	uint8_t *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	test_assert(data != MAP_FAILED);
	conn->pools[conn->pool_count] = (struct fuzz_pool){fd, data, size, size};
	return (int)conn->pool_count++;
}

/** Draws into a pool, or (rarely) cuts it short under the proxy's reads. */
static void pool_touch(struct fuzz_conn *conn, struct fuzz_stats *stats) {
	if (conn->pool_count == 0) {
		return;
	}
	struct fuzz_pool *pool = &conn->pools[rnd((uint32_t)conn->pool_count)];
	if (chance(3) && pool->size > 4096) {
		// The mapping stays; past the new end it faults, for the proxy too.
		test_assert(ftruncate(pool->fd, (off_t)(pool->size / 2)) == 0);
		pool->size /= 2;
		stats->shrunk++;
		return;
	}
	size_t at = rnd((uint32_t)pool->size);
	size_t len = rnd((uint32_t)(pool->size - at)) + 1;
	memset(pool->data + at, (int)rnd(256), len);
}

struct request {
	uint32_t words[MAX_WORDS];
	size_t size; // bytes
	int fds[4];
	size_t fd_count;
	int close_fds[4]; // ours to close once sent
	size_t close_count;
};

static void put(struct request *req, uint32_t word) {
	if (req->size / 4 < MAX_WORDS) {
		req->words[req->size / 4] = word;
		req->size += 4;
	}
}

static void put_string(struct request *req, const char *text, bool terminated) {
	size_t len = strlen(text) + (terminated ? 1 : 0);
	if (req->size / 4 + 1 + (len + 3) / 4 >= MAX_WORDS) {
		put(req, 0);
		return;
	}
	put(req, (uint32_t)len);
	memset((char *)req->words + req->size, 0, (len + 3) & ~(size_t)3);
	memcpy((char *)req->words + req->size, text, strlen(text));
	req->size += (len + 3) & ~(size_t)3;
}

/** Queues an fd of ours to send, and to close once sent (or now, when there is no room). */
static void put_fd(struct request *req, int fd) {
	if (fd < 0) {
		return;
	}
	if (req->fd_count == 4) {
		close(fd);
		return;
	}
	req->fds[req->fd_count++] = fd;
	req->close_fds[req->close_count++] = fd;
}

/** What a request built to be wrong gets wrong. */
enum mutation {
	MUTATE_NONE,
	MUTATE_OPCODE, // past the interface's last request
	MUTATE_VERSION, // a request newer than the object's version
	MUTATE_OBJECT, // an object argument that is unknown or of another interface
	MUTATE_NEW_ID, // a new id in use or out of sequence
	MUTATE_FD, // an fd left out
	MUTATE_STRING, // a string without its NUL
	MUTATE_BIND, // a global that is not there, or a version above it
	MUTATION_COUNT,
};

/** Whether every object a request needs is there (a nullable one may be left out). */
static bool satisfiable(struct fuzz_conn *conn, const struct wl_message *msg) {
	bool nullable;
	int arg = 0;
	for (const char *p = fuzz_conn_next_arg(msg->signature, &nullable); *p != '\0';
		p = fuzz_conn_next_arg(p + 1, &nullable), arg++) {
		if (*p == 'o' && !nullable && pick_object(conn, msg->types[arg]) == 0) {
			return false;
		}
	}
	return true;
}

/** Interfaces of surfaces and their content. */
static bool drawing(const struct wl_interface *interface) {
	static const char *const names[] = {"wl_compositor", "wl_surface", "wl_shm", "wl_shm_pool",
		"wl_buffer", "wl_subcompositor", "wl_subsurface", "xdg_wm_base", "xdg_surface",
		"xdg_toplevel", "wp_viewporter", "wp_viewport"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(interface->name, names[i]) == 0) {
			return true;
		}
	}
	return false;
}

/**
 * Picks a request to send: mostly one the object's version has, whose
 * objects are there, and fewer destructors, so that objects live long
 * enough to be used. NULL when the connection has nothing to send on.
 */
static struct fuzz_object *choose_request(
	struct fuzz_conn *conn, enum mutation mutation, uint32_t *opcode) {
	struct fuzz_object *fallback = NULL;
	for (int tries = 0; tries < 32; tries++) {
		struct fuzz_object *object = &conn->objects[rnd((uint32_t)conn->object_count)];
		const struct wl_interface *interface = object->interface;
		if (interface->method_count == 0) {
			continue; // a wl_callback: nothing to ask of it
		}
		*opcode = rnd((uint32_t)interface->method_count);
		fallback = object;
		if (!drawing(interface) && chance(75)) {
			continue; // more surfaces and buffers, where the proxy does most
		}
		const struct wl_message *msg = &interface->methods[*opcode];
		bool too_new = fuzz_conn_since(msg) > object->version;
		bool wanted = too_new;
		if (mutation != MUTATE_VERSION) {
			wanted = !too_new && satisfiable(conn, msg) &&
				!(fuzz_conn_is_destructor(interface, *opcode) && chance(70));
		}
		if (wanted) {
			return object;
		}
	}
	return fallback; // *opcode is one of its requests
}

/** wl_registry.bind of one of the globals seen; true when built to be wrong. */
static bool build_bind(struct fuzz_conn *conn, const struct fuzz_global *global,
	enum mutation mutation, struct request *req, struct fuzz_object *made) {
	uint32_t id = conn->next_id++;
	if (global == NULL || (mutation == MUTATE_BIND && chance(50))) {
		put(req, rnd(64) + 1000);
		put_string(req, "wl_nothing", true);
		put(req, 1);
		put(req, id);
		return true;
	}
	uint32_t version = chance(70) ? global->version : rnd(global->version) + 1;
	if (mutation == MUTATE_BIND) {
		version = global->version + 1;
	}
	put(req, global->name);
	put_string(req, global->interface->name, true);
	put(req, version);
	put(req, id);
	*made = (struct fuzz_object){.id = id, .interface = global->interface, .version = version};
	return mutation == MUTATE_BIND;
}

/** An id that names no object of this connection. */
static uint32_t unknown_id(struct fuzz_conn *conn) {
	return conn->next_id + 1000 + rnd(1000);
}

/** A live object not of `interface`; an unknown id when there is none. */
static uint32_t other_object(struct fuzz_conn *conn, const struct wl_interface *interface) {
	for (int tries = 0; tries < 8 && interface != NULL; tries++) {
		const struct fuzz_object *object =
			&conn->objects[rnd((uint32_t)conn->object_count)];
		if (strcmp(object->interface->name, interface->name) != 0) {
			return object->id;
		}
	}
	return unknown_id(conn);
}

/** The layout of a buffer made in a pool. */
struct buffer_layout {
	bool set; // the pool's size is known: these are the arguments
	uint32_t offset, width, height, stride, format;
};

/**
 * A layout that fits the pool, its rows sometimes padded, or now and then
 * one that just misses: past the pool's end by a few bytes or a row, a
 * stride too short, an empty or negative size or offset, or an unknown
 * format.
 */
static struct buffer_layout buffer_layout(const struct fuzz_object *pool) {
	size_t size = pool->pool_size;
	struct buffer_layout layout = {.set = pool->pool >= 0 && size >= 4};
	if (!layout.set) {
		return layout; // arguments left to chance
	}
	layout.width = rnd(128) + 1;
	// Now and then rows padded past their pixels, which the proxy drops
	// from its host copy.
	layout.stride = layout.width * 4 + (chance(20) ? 4 * rnd(64) : 0);
	size_t rows = size / layout.stride;
	if (rows == 0) {
		layout.width = (uint32_t)(size / 4);
		layout.stride = layout.width * 4;
		rows = 1;
	}
	layout.height = rnd((uint32_t)(rows < 128 ? rows : 128)) + 1;
	size_t spare = size - (size_t)layout.stride * layout.height;
	layout.offset = chance(50) ? rnd((uint32_t)spare + 1) & ~3u : 0;
	layout.format = rnd(2); // ARGB8888, XRGB8888
	if (chance(4)) {
		switch (rnd(6)) {
		case 0:
			layout.offset = (uint32_t)spare + 4;
			break;
		case 1:
			layout.height += (uint32_t)(spare / layout.stride) + 1;
			break;
		case 2:
			layout.stride -= 4;
			break;
		case 3:
			layout.width = 0;
			break;
		case 4:
			layout.offset = (uint32_t)-4;
			break;
		default:
			layout.format = 2 + rnd(0);
		}
	}
	return layout;
}

/** The value of argument `arg`, an int or uint, of a request on `object`. */
static uint32_t int_argument(struct fuzz_conn *conn, const struct fuzz_object *object,
	const struct wl_message *msg, int arg, const struct buffer_layout *layout,
	size_t pool_size) {
	const char *interface = object->interface->name;
	struct fuzz_pool *pool = object->pool >= 0 ? &conn->pools[object->pool] : NULL;
	if (strcmp(interface, "wl_shm") == 0 && chance(98)) {
		return (uint32_t)pool_size; // create_pool's size
	}
	if (layout->set) {
		// create_buffer: offset, width, height, stride, format
		const uint32_t values[] = {0, layout->offset, layout->width, layout->height,
			layout->stride, layout->format};
		return values[arg];
	}
	if (strcmp(interface, "wl_shm_pool") == 0 && strcmp(msg->name, "resize") == 0 &&
		pool != NULL && chance(98)) {
		uint32_t size = (uint32_t)object->pool_size + rnd(4) * 4096;
		if (size > pool->size && size <= pool->map_size) {
			test_assert(ftruncate(pool->fd, size) == 0);
			pool->size = size;
		}
		return size;
	}
	return random_int();
}

/**
 * Writes request `opcode` on `object` into `req`; *made gets an object it
 * creates (id 0 for none) and *made_pool the pool memory it hands over.
 * Returns whether the mutation was applied: the request is wrong.
 */
static bool build_request(struct fuzz_conn *conn, struct fuzz_object *object, uint32_t opcode,
	enum mutation mutation, struct request *req, struct fuzz_object *made, int *made_pool) {
	const struct wl_interface *interface = object->interface;
	bool wrong = false;
	req->size = 8;
	*made = (struct fuzz_object){0};
	*made_pool = -1;
	if (mutation == MUTATE_OPCODE || opcode >= (uint32_t)interface->method_count) {
		opcode = (uint32_t)interface->method_count + rnd(3);
		put(req, random_int());
		wrong = true;
		goto done;
	}
	const struct wl_message *msg = &interface->methods[opcode];
	wrong = fuzz_conn_since(msg) > object->version;
	if (strcmp(interface->name, "wl_registry") == 0 && opcode == WL_REGISTRY_BIND) {
		const struct fuzz_global *global = conn->global_count > 0
			? &conn->globals[rnd((uint32_t)conn->global_count)]
			: NULL;
		wrong |= build_bind(conn, global, mutation, req, made);
		goto done;
	}
	size_t pool_size = 0;
	struct buffer_layout layout = {0};
	if (strcmp(interface->name, "wl_shm_pool") == 0 &&
		strcmp(msg->name, "create_buffer") == 0) {
		layout = buffer_layout(object);
	}
	bool nullable;
	int arg = 0;
	for (const char *p = fuzz_conn_next_arg(msg->signature, &nullable); *p != '\0';
		p = fuzz_conn_next_arg(p + 1, &nullable), arg++) {
		const struct wl_interface *type = msg->types[arg];
		switch (*p) {
		case 'i':
		case 'u': {
			uint32_t value = int_argument(conn, object, msg, arg, &layout, pool_size);
			if (strcmp(interface->name, "wl_shm") == 0) {
				made->pool_size = value; // create_pool
			} else if (strcmp(interface->name, "wl_shm_pool") == 0 &&
				strcmp(msg->name, "resize") == 0) {
				object->pool_size = value;
			}
			put(req, value);
			break;
		}
		case 'f':
			put(req, chance(90) ? (rnd(512) << 8) : rnd(0));
			break;
		case 's':
			if (nullable && chance(20)) {
				put(req, 0);
			} else {
				char text[24];
				size_t len = rnd(16) + 1;
				for (size_t i = 0; i < len; i++) {
					text[i] = (char)('a' + rnd(26));
				}
				text[len] = '\0';
				put_string(req, text, mutation != MUTATE_STRING || wrong);
				wrong |= mutation == MUTATE_STRING;
			}
			break;
		case 'o': {
			uint32_t id = nullable && chance(20) ? 0 : pick_object(conn, type);
			if (mutation == MUTATE_OBJECT && !wrong) {
				id = chance(50) ? unknown_id(conn) : other_object(conn, type);
				wrong = true;
			}
			put(req, id);
			break;
		}
		case 'n': {
			uint32_t id = conn->next_id++;
			if (mutation == MUTATE_NEW_ID && !wrong) {
				id = chance(50) ? object->id : unknown_id(conn);
				wrong = true;
			}
			*made = (struct fuzz_object){
				.id = id, .interface = type, .version = object->version};
			put(req, id);
			break;
		}
		case 'a': {
			uint32_t len = rnd(17);
			uint32_t bytes[5] = {rnd(0), rnd(0), rnd(0), rnd(0), rnd(0)};
			put(req, len);
			for (uint32_t i = 0; i < (len + 3) / 4; i++) {
				put(req, bytes[i]);
			}
			break;
		}
		case 'h':
			if (mutation == MUTATE_FD && !wrong) {
				wrong = true; // no fd at all
			} else if (strcmp(interface->name, "wl_shm") == 0) {
				// create_pool's memory; its size is the next argument.
				static const size_t sizes[] = {4096, 65536, 128 * 128 * 4, 1 << 20};
				pool_size = sizes[rnd(4)];
				int index = pool_create(conn, pool_size);
				if (index < 0) {
					// No room: another pool on memory already shared.
					index = (int)rnd((uint32_t)conn->pool_count);
					pool_size = conn->pools[index].size;
				}
				req->fds[req->fd_count++] = conn->pools[index].fd;
				*made_pool = index;
			} else {
				int pipe_fds[2];
				test_assert(pipe2(pipe_fds, O_CLOEXEC) == 0);
				close(pipe_fds[0]);
				put_fd(req, pipe_fds[1]);
			}
			break;
		}
	}
done:
	req->words[0] = object->id;
	req->words[1] = ((uint32_t)req->size << 16) | opcode;
	if (fuzz_conn_is_destructor(interface, opcode)) {
		fuzz_conn_remove(conn, object->id);
	}
	return wrong;
}

/** Closes a connection, counting what came on it. */
static void conn_close(struct fuzz_conn *conn, struct fuzz_stats *stats) {
	stats->fds_in += conn->fds_in;
	fuzz_conn_close(conn);
}

/** One step of one connection: a request, some drawing, reading. */
static void conn_step(struct fuzz_conn *conn, const char *path, struct fuzz_stats *stats) {
	if (conn->fd < 0) {
		fuzz_conn_open(conn, path);
		stats->connections++;
	}
	bool alive = true;
	if (!conn->registry_done) {
		struct pollfd pfd = {conn->fd, POLLIN, 0};
		test_assert(poll(&pfd, 1, 10000) == 1);
		alive = fuzz_conn_read(conn);
	} else if (conn->sent >= MESSAGES_PER_CONNECTION || conn->object_count == 0) {
		conn_close(conn, stats); // a client going away in the middle of things
		return;
	} else {
		struct request req = {0};
		struct fuzz_object made = {0};
		int made_pool = -1;
		bool wrong, commit = false;
		enum mutation mutation =
			chance(1) ? (enum mutation)(1 + rnd(MUTATION_COUNT - 1)) : MUTATE_NONE;
		if (conn->bound < conn->global_count) {
			// First one of every global, at the version offered.
			req.size = 8;
			wrong = build_bind(
				conn, &conn->globals[conn->bound++], MUTATE_NONE, &req, &made);
			req.words[0] = 2;
			req.words[1] = ((uint32_t)req.size << 16) | WL_REGISTRY_BIND;
		} else {
			uint32_t opcode = 0;
			struct fuzz_object *object = choose_request(conn, mutation, &opcode);
			if (object == NULL) {
				conn_close(conn, stats);
				return;
			}
			// A destructor takes the object out of the table.
			bool surface = strcmp(object->interface->name, "wl_surface") == 0;
			wrong = build_request(
				conn, object, opcode, mutation, &req, &made, &made_pool);
			commit = surface && (req.words[1] & 0xffff) == WL_SURFACE_COMMIT;
		}
		alive = fuzz_conn_send(conn, req.words, req.size, req.fds, req.fd_count);
		for (size_t i = 0; i < req.close_count; i++) {
			close(req.close_fds[i]);
		}
		if (made.id != 0) {
			struct fuzz_object *added =
				fuzz_conn_add(conn, made.id, made.interface, made.version);
			if (added != NULL) {
				added->pool = made_pool;
				added->pool_size = made.pool_size;
			}
		}
		stats->messages++;
		stats->wrong += wrong;
		stats->commits += commit;
		conn->sent++;
		if (chance(10)) {
			pool_touch(conn, stats);
		}
		if (alive) {
			alive = fuzz_conn_read(conn);
		}
	}
	if (!alive) {
		// A send may fail before the error is read: read to the end.
		struct pollfd pfd = {conn->fd, POLLIN, 0};
		while (poll(&pfd, 1, 2000) == 1 && fuzz_conn_read(conn)) {
		}
		if (conn->errored) {
			stats->errors++;
			stats->by_code[conn->error_code < 7 ? conn->error_code : 7]++;
		} else {
			stats->hangups_without_error++;
			test_log("a connection ended without a protocol error after %u requests",
				conn->sent);
		}
		conn_close(conn, stats);
	}
}

/* The bystander: a well-behaved client that draws a frame now and then. */

struct bystander {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct wl_surface *surface;
	struct wl_buffer *buffers[2];
	unsigned int frames, done;
};

static void bystander_global(void *data, struct wl_registry *registry, uint32_t name,
	const char *interface, uint32_t version) {
	struct bystander *b = data;
	if (strcmp(interface, "wl_compositor") == 0) {
		b->compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
	} else if (strcmp(interface, "wl_shm") == 0) {
		b->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	}
}

static void bystander_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener bystander_registry_listener = {
	.global = bystander_global,
	.global_remove = bystander_global_remove,
};

static void bystander_connect(struct bystander *b, const char *path) {
	*b = (struct bystander){0};
	b->display = wl_display_connect(path);
	test_assert(b->display != NULL);
	b->registry = wl_display_get_registry(b->display);
	wl_registry_add_listener(b->registry, &bystander_registry_listener, b);
	test_assert(wl_display_roundtrip(b->display) >= 0);
	test_assert(b->compositor != NULL && b->shm != NULL);
	const int32_t size = 64, stride = size * 4;
	int fd = memfd_create("bystander", MFD_CLOEXEC);
	test_assert(fd >= 0 && ftruncate(fd, 2 * stride * size) == 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(b->shm, fd, 2 * stride * size);
	for (int i = 0; i < 2; i++) {
		b->buffers[i] = wl_shm_pool_create_buffer(
			pool, i * stride * size, size, size, stride, WL_SHM_FORMAT_XRGB8888);
	}
	wl_shm_pool_destroy(pool);
	close(fd);
	b->surface = wl_compositor_create_surface(b->compositor);
}

static void bystander_frame_done(void *data, struct wl_callback *callback, uint32_t time) {
	struct bystander *b = data;
	b->done++;
	wl_callback_destroy(callback);
}

static const struct wl_callback_listener bystander_frame_listener = {
	.done = bystander_frame_done,
};

/** Draws a frame and sees it done (the host ends frame callbacks at the commit). */
static void bystander_frame(struct bystander *b) {
	wl_surface_attach(b->surface, b->buffers[b->frames % 2], 0, 0);
	wl_surface_damage_buffer(b->surface, 0, 0, 64, 64);
	struct wl_callback *callback = wl_surface_frame(b->surface);
	wl_callback_add_listener(callback, &bystander_frame_listener, b);
	wl_surface_commit(b->surface);
	b->frames++;
	test_assert(wl_display_roundtrip(b->display) >= 0);
	test_assert(b->done == b->frames);
}

static void bystander_disconnect(struct bystander *b) {
	wl_surface_destroy(b->surface);
	wl_buffer_destroy(b->buffers[0]);
	wl_buffer_destroy(b->buffers[1]);
	wl_shm_destroy(b->shm);
	wl_compositor_destroy(b->compositor);
	wl_registry_destroy(b->registry);
	wl_display_disconnect(b->display);
}

static unsigned long env_number(const char *name, unsigned long fallback) {
	const char *text = getenv(name);
	if (text == NULL || *text == '\0') {
		return fallback;
	}
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 0);
	test_assert(errno == 0 && *end == '\0');
	return value;
}

static void fuzz(enum wcp_relay_mode mode, uint64_t default_seed) {
	rng_state = env_number("WCP_FUZZ_SEED", default_seed);
	test_assert(rng_state != 0);
	unsigned long total = env_number("WCP_FUZZ_MESSAGES", 40000);
	test_log("seed %llu, %lu requests", (unsigned long long)rng_state, total);

	char runtime_dir[PATH_MAX];
	test_runtime_dir_create(runtime_dir);
	// The host draws from a stream of its own.
	pid_t host = fuzz_host_start(HOST_SOCKET, rng_state ^ 0x9e3779b97f4a7c15ull);
	struct wcp_relay *relay = relay_start_on(
		&(struct wcp_relay_host){.display = HOST_SOCKET, .runtime_dir = runtime_dir}, mode);
	char path[PATH_MAX];
	test_format(path, sizeof(path), "%s/%s", runtime_dir, relay->socket);
	struct bystander bystander;
	bystander_connect(&bystander, path);

	struct fuzz_conn conns[CONNECTIONS];
	for (size_t i = 0; i < CONNECTIONS; i++) {
		conns[i] = (struct fuzz_conn){.fd = -1};
	}
	struct fuzz_stats stats = {0};
	long long start = proc_now_ms();
	unsigned long next_frame = 500;
	// A slow machine (under valgrind, say) sends fewer rather than time out.
	while (stats.messages < total && proc_now_ms() - start < 90000) {
		conn_step(&conns[rnd(CONNECTIONS)], path, &stats);
		if (stats.messages >= next_frame) {
			next_frame += 500;
			bystander_frame(&bystander);
		}
	}
	for (size_t i = 0; i < CONNECTIONS; i++) {
		if (conns[i].fd >= 0) {
			conn_close(&conns[i], &stats);
		}
	}
	test_log("%lu requests (%lu built wrong) on %lu connections in %lld ms; %lu ended with "
		 "an error (codes 0-6 and above: %lu %lu %lu %lu %lu %lu %lu %lu), %lu without "
		 "one; %lu commits, %lu pools shrunk, %lu fds from the host",
		stats.messages, stats.wrong, stats.connections, proc_now_ms() - start, stats.errors,
		stats.by_code[0], stats.by_code[1], stats.by_code[2], stats.by_code[3],
		stats.by_code[4], stats.by_code[5], stats.by_code[6], stats.by_code[7],
		stats.hangups_without_error, stats.commits, stats.shrunk, stats.fds_in);

	// Every connection the proxy ended was told why.
	if (stats.hangups_without_error > 0) {
		test_dump_log_tail(relay->log_path);
	}
	test_assert(stats.hangups_without_error == 0);
	// The run reached deep enough to mean something.
	test_assert(stats.errors > 0 && stats.commits > 0 && stats.shrunk > 0);
	// Keyboards come now and then, each with a keymap; a run cut short
	// (WCP_FUZZ_MESSAGES, or a slow machine) may have none.
	test_assert(stats.fds_in > 0 || stats.messages < 10000);
	test_assert(proc_alive(relay->proxy));
	bystander_frame(&bystander);
	bystander_disconnect(&bystander);

	// A new client is served as ever.
	bystander_connect(&bystander, path);
	bystander_frame(&bystander);
	bystander_disconnect(&bystander);
	relay_stop(relay);
	fuzz_host_stop(host);
}

TEST_OPTS(random_requests_end_only_their_clients_direct, .timeout_s = 240) {
	fuzz(WCP_RELAY_DIRECT, 1);
}

TEST_OPTS(random_requests_end_only_their_clients_over_cross_domain, .timeout_s = 240) {
	fuzz(WCP_RELAY_EMU, 2);
}

int main(int argc, char *argv[]) {
	return test_main(argc, argv);
}
