/* wcp-seat-client: the clipboard (wl_data_device) and the primary selection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seat_client.h"

/* Offers, of either protocol. */

static struct seat_offer *offer_create(struct seat_client *c, void *proxy, bool primary) {
	struct seat_offer *offer = calloc(1, sizeof(*offer));
	if (offer == NULL) {
		seat_client_fail(c, "out of memory");
		return NULL;
	}
	offer->client = c;
	offer->proxy = proxy;
	offer->primary = primary;
	return offer;
}

static void offer_destroy(struct seat_offer *offer) {
	if (offer == NULL) {
		return;
	}
	if (offer->primary) {
		zwp_primary_selection_offer_v1_destroy(offer->proxy);
	} else {
		wl_data_offer_destroy(offer->proxy);
	}
	free(offer);
}

static void offer_add_mime(struct seat_offer *offer, const char *mime) {
	if (strcmp(mime, offer->client->mime) == 0) {
		offer->has_mime = true;
	}
}

/** The selection is now `offer` (may be NULL); the previous one is done with. */
static void set_offer(struct seat_client *c, struct seat_offer *offer) {
	if (c->offer != offer) {
		offer_destroy(c->offer);
		c->offer = offer;
	}
	c->offer_wanted = offer != NULL && offer->has_mime;
	printf("selection %s\n", offer == NULL ? "none" : offer->has_mime ? "wanted" : "other");
}

static void handle_data_offer_offer(void *data, struct wl_data_offer *proxy, const char *mime) {
	offer_add_mime(data, mime);
}

static void handle_data_offer_source_actions(
	void *data, struct wl_data_offer *proxy, uint32_t actions) {
}

static void handle_data_offer_action(void *data, struct wl_data_offer *proxy, uint32_t action) {
}

static const struct wl_data_offer_listener data_offer_listener = {
	.offer = handle_data_offer_offer,
	.source_actions = handle_data_offer_source_actions,
	.action = handle_data_offer_action,
};

static void handle_primary_offer_offer(
	void *data, struct zwp_primary_selection_offer_v1 *proxy, const char *mime) {
	offer_add_mime(data, mime);
}

static const struct zwp_primary_selection_offer_v1_listener primary_offer_listener = {
	.offer = handle_primary_offer_offer,
};

/* The devices. Only selections come: the client has no pointer, so no drag and drop. */

static void handle_data_device_data_offer(
	void *data, struct wl_data_device *device, struct wl_data_offer *proxy) {
	struct seat_offer *offer = offer_create(data, proxy, false);
	if (offer == NULL) {
		wl_data_offer_destroy(proxy);
		return;
	}
	wl_data_offer_add_listener(proxy, &data_offer_listener, offer);
}

static void handle_data_device_enter(void *data, struct wl_data_device *device, uint32_t serial,
	struct wl_surface *surface, wl_fixed_t x, wl_fixed_t y, struct wl_data_offer *proxy) {
	seat_client_fail(data, "a drag entered a client without a pointer");
}

static void handle_data_device_leave(void *data, struct wl_data_device *device) {
}

static void handle_data_device_motion(
	void *data, struct wl_data_device *device, uint32_t time, wl_fixed_t x, wl_fixed_t y) {
}

static void handle_data_device_drop(void *data, struct wl_data_device *device) {
}

static void handle_data_device_selection(
	void *data, struct wl_data_device *device, struct wl_data_offer *proxy) {
	set_offer(data, proxy != NULL ? wl_data_offer_get_user_data(proxy) : NULL);
}

static const struct wl_data_device_listener data_device_listener = {
	.data_offer = handle_data_device_data_offer,
	.enter = handle_data_device_enter,
	.leave = handle_data_device_leave,
	.motion = handle_data_device_motion,
	.drop = handle_data_device_drop,
	.selection = handle_data_device_selection,
};

static void handle_primary_device_data_offer(void *data,
	struct zwp_primary_selection_device_v1 *device,
	struct zwp_primary_selection_offer_v1 *proxy) {
	struct seat_offer *offer = offer_create(data, proxy, true);
	if (offer == NULL) {
		zwp_primary_selection_offer_v1_destroy(proxy);
		return;
	}
	zwp_primary_selection_offer_v1_add_listener(proxy, &primary_offer_listener, offer);
}

static void handle_primary_device_selection(void *data,
	struct zwp_primary_selection_device_v1 *device,
	struct zwp_primary_selection_offer_v1 *proxy) {
	set_offer(data, proxy != NULL ? zwp_primary_selection_offer_v1_get_user_data(proxy) : NULL);
}

static const struct zwp_primary_selection_device_v1_listener primary_device_listener = {
	.data_offer = handle_primary_device_data_offer,
	.selection = handle_primary_device_selection,
};

/** Gets the device of the selection in use; false (reported) when the compositor has none. */
static bool device_create(struct seat_client *c) {
	if (c->primary) {
		if (c->primary_manager == NULL) {
			seat_client_fail(c, "the compositor offers no primary selection");
			return false;
		}
		c->primary_device = zwp_primary_selection_device_manager_v1_get_device(
			c->primary_manager, c->seat);
		zwp_primary_selection_device_v1_add_listener(
			c->primary_device, &primary_device_listener, c);
		return true;
	}
	if (c->data_device_manager == NULL) {
		seat_client_fail(c, "the compositor offers no wl_data_device_manager");
		return false;
	}
	c->data_device = wl_data_device_manager_get_data_device(c->data_device_manager, c->seat);
	wl_data_device_add_listener(c->data_device, &data_device_listener, c);
	return true;
}

/* copy */

static void source_send(struct seat_client *c, const char *mime, int32_t fd) {
	// The pipe may come non-blocking; this client has nothing else to do meanwhile.
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0) {
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	}
	size_t done = 0;
	while (done < c->content_size) {
		ssize_t n = write(fd, c->content + done, c->content_size - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			seat_client_fail(c, "writing the selection failed after %zu bytes: %s",
				done, strerror(errno));
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	printf("sent %s %zu\n", mime, done);
}

static void handle_data_source_target(void *data, struct wl_data_source *source, const char *mime) {
}

static void handle_data_source_send(
	void *data, struct wl_data_source *source, const char *mime, int32_t fd) {
	source_send(data, mime, fd);
}

static void handle_data_source_cancelled(void *data, struct wl_data_source *source) {
	struct seat_client *c = data;
	c->cancelled = true;
}

static void handle_data_source_dnd_drop_performed(void *data, struct wl_data_source *source) {
}

static void handle_data_source_dnd_finished(void *data, struct wl_data_source *source) {
}

static void handle_data_source_action(void *data, struct wl_data_source *source, uint32_t action) {
}

static const struct wl_data_source_listener data_source_listener = {
	.target = handle_data_source_target,
	.send = handle_data_source_send,
	.cancelled = handle_data_source_cancelled,
	.dnd_drop_performed = handle_data_source_dnd_drop_performed,
	.dnd_finished = handle_data_source_dnd_finished,
	.action = handle_data_source_action,
};

static void handle_primary_source_send(
	void *data, struct zwp_primary_selection_source_v1 *source, const char *mime, int32_t fd) {
	source_send(data, mime, fd);
}

static void handle_primary_source_cancelled(
	void *data, struct zwp_primary_selection_source_v1 *source) {
	struct seat_client *c = data;
	c->cancelled = true;
}

static const struct zwp_primary_selection_source_v1_listener primary_source_listener = {
	.send = handle_primary_source_send,
	.cancelled = handle_primary_source_cancelled,
};

static bool read_file(struct seat_client *c, const char *path) {
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		seat_client_fail(c, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	bool ok = fseek(f, 0, SEEK_END) == 0;
	long size = ok ? ftell(f) : -1;
	ok = size >= 0 && fseek(f, 0, SEEK_SET) == 0;
	c->content = ok ? malloc(size > 0 ? (size_t)size : 1) : NULL;
	ok = c->content != NULL && fread(c->content, 1, (size_t)size, f) == (size_t)size;
	fclose(f);
	if (!ok) {
		seat_client_fail(c, "cannot read %s", path);
		return false;
	}
	c->content_size = (size_t)size;
	return true;
}

int seat_clipboard_copy(struct seat_client *c) {
	if (!read_file(c, c->path) || !device_create(c) || !seat_client_focus(c)) {
		return SEAT_CLIENT_FAILED;
	}
	if (c->primary) {
		c->primary_source =
			zwp_primary_selection_device_manager_v1_create_source(c->primary_manager);
		zwp_primary_selection_source_v1_add_listener(
			c->primary_source, &primary_source_listener, c);
		zwp_primary_selection_source_v1_offer(c->primary_source, c->mime);
		zwp_primary_selection_device_v1_set_selection(
			c->primary_device, c->primary_source, c->enter_serial);
	} else {
		c->data_source = wl_data_device_manager_create_data_source(c->data_device_manager);
		wl_data_source_add_listener(c->data_source, &data_source_listener, c);
		wl_data_source_offer(c->data_source, c->mime);
		wl_data_device_set_selection(c->data_device, c->data_source, c->enter_serial);
	}
	// The round trip reaches the compositor even through a proxy.
	if (wl_display_roundtrip(c->display) < 0) {
		seat_client_fail(c, "the connection failed: %s", strerror(errno));
		return SEAT_CLIENT_FAILED;
	}
	printf("selection set\n");
	if (!seat_client_dispatch_until(c, &c->cancelled)) {
		return SEAT_CLIENT_FAILED;
	}
	printf("cancelled\n");
	return SEAT_CLIENT_OK;
}

/* paste */

static void offer_receive(struct seat_offer *offer, const char *mime, int fd) {
	if (offer->primary) {
		zwp_primary_selection_offer_v1_receive(offer->proxy, mime, fd);
	} else {
		wl_data_offer_receive(offer->proxy, mime, fd);
	}
}

/**
 * Hands the host the file itself to write the selection into: a regular
 * file, which a compositor takes but cross-domain cannot carry.
 */
static bool receive_into_file(struct seat_client *c) {
	int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		seat_client_fail(c, "cannot open %s: %s", c->path, strerror(errno));
		return false;
	}
	offer_receive(c->offer, c->mime, fd);
	close(fd);
	if (wl_display_roundtrip(c->display) < 0) {
		if (wl_display_get_error(c->display) == EPROTO) {
			const struct wl_interface *interface;
			uint32_t code = wl_display_get_protocol_error(c->display, &interface, NULL);
			printf("protocol error %u on %s\n", code,
				interface != NULL ? interface->name : "?");
		}
		seat_client_fail(c, "the connection failed: %s", strerror(errno));
		return false;
	}
	printf("handed over %s\n", c->path);
	return true;
}

/** Reads all of the wanted selection into `path`. */
static bool receive(struct seat_client *c) {
	if (c->into_file) {
		return receive_into_file(c);
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		seat_client_fail(c, "pipe2: %s", strerror(errno));
		return false;
	}
	offer_receive(c->offer, c->mime, fds[1]);
	close(fds[1]);
	if (wl_display_flush(c->display) < 0) {
		seat_client_fail(c, "the connection failed: %s", strerror(errno));
		close(fds[0]);
		return false;
	}
	if (c->read_after != NULL) {
		// A reader that falls behind: the pipe fills, and the rest waits.
		printf("asked\n");
		while (access(c->read_after, F_OK) != 0) {
			usleep(20000);
		}
	}
	size_t size = 0, cap = 65536;
	uint8_t *bytes = malloc(cap);
	ssize_t n = 0;
	while (bytes != NULL) {
		if (size == cap) {
			uint8_t *grown = realloc(bytes, cap * 2);
			if (grown == NULL) {
				break;
			}
			bytes = grown;
			cap *= 2;
		}
		n = read(fds[0], bytes + size, cap - size);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		size += (size_t)n;
	}
	close(fds[0]);
	bool ok = bytes != NULL && n == 0 && seat_client_write_file(c->path, bytes, size);
	free(bytes);
	if (!ok) {
		seat_client_fail(c, "receiving the selection into %s failed", c->path);
		return false;
	}
	printf("received %zu\n", size);
	return true;
}

int seat_clipboard_paste(struct seat_client *c) {
	if (!device_create(c) || !seat_client_focus(c)) {
		return SEAT_CLIENT_FAILED;
	}
	// The selection comes with focus, or later when a source takes it.
	if (!seat_client_dispatch_until(c, &c->offer_wanted)) {
		return SEAT_CLIENT_FAILED;
	}
	return receive(c) ? SEAT_CLIENT_OK : SEAT_CLIENT_FAILED;
}

void seat_clipboard_finish(struct seat_client *c) {
	offer_destroy(c->offer);
	c->offer = NULL;
	if (c->data_source != NULL) {
		wl_data_source_destroy(c->data_source);
	}
	if (c->primary_source != NULL) {
		zwp_primary_selection_source_v1_destroy(c->primary_source);
	}
	if (c->data_device != NULL) {
		if (wl_data_device_get_version(c->data_device) >=
			WL_DATA_DEVICE_RELEASE_SINCE_VERSION) {
			wl_data_device_release(c->data_device);
		} else {
			wl_data_device_destroy(c->data_device);
		}
	}
	if (c->primary_device != NULL) {
		zwp_primary_selection_device_v1_destroy(c->primary_device);
	}
	free(c->content);
}
