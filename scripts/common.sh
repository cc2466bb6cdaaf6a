# Shared by scripts/demo and scripts/test: install the Debian packages that
# are missing, then configure and build.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing need on Debian 12. libgl1-mesa-dri is the
# software renderer that weston-subsurfaces draws its EGL subsurface with.
# The seat tests run on sway, typing with wtype and reaching the host's
# selections with wl-clipboard; grim takes sway's screenshots. The next group builds the man pages; the
# last builds, lints and checks the Debian package (systemd gives
# systemd-analyze).
packages=(
	gcc libc6-dev meson ninja-build pkg-config
	libwayland-dev libwayland-bin wayland-protocols libpng-dev libdrm-dev libpixman-1-dev
	libxkbcommon-dev
	weston wayland-utils clang-format procps libgl1-mesa-dri
	sway wtype wl-clipboard grim
	python3 libsystemd-dev scdoc man-db
	build-essential debhelper dpkg-dev fakeroot lintian systemd
)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

install_missing() {
	local missing=() p
	for p in "${packages[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	echo "Installing Debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}"
}

# build DIR [MESON ARGS...]: configures DIR once, then builds it.
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$root" "$@"
	fi
	ninja -C "$dir"
}
