#include "wayland/metadata.h"

#include <stdlib.h>
#include <string.h>

static int compare_name(const void *key, const void *element) {
	const struct wcp_interface_meta *meta = element;
	return strcmp(key, meta->interface->name);
}

const struct wcp_interface_meta *metadata_find(const char *name) {
	return bsearch(
		name, wcp_interfaces, wcp_interface_count, sizeof(wcp_interfaces[0]), compare_name);
}
