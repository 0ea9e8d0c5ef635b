# Shared by the cross/ scripts: toolchain paths, Embedded flags, messages, and installing what is missing.
# shellcheck shell=bash

toolchain="$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")"
embedded_flags=(-Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo -Xswiftc -warnings-as-errors)
unicode_tables="$toolchain/lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a"

say() { [ -n "$CROSS_QUIET" ] || echo "cross: $*"; }
die() { echo "cross: FAILED: $*" >&2; exit 1; }

# Runs a SwiftPM command with its output in a log, shows the log without the notes about pkg-config
# flags SwiftPM drops (libzmq's .pc lists krb5 include dirs zmq.h does not need); keeps its status.
quiet_swiftpm() {
    local log=$1 status=0
    shift
    mkdir -p "$(dirname "$log")"
    "$@" > "$log" 2>&1 || status=$?
    if [ $status != 0 ] || [ -z "$CROSS_QUIET" ]; then
        grep -v -e 'prohibited flag' -e '^\[[0-9]*/[0-9]*\]' -e '^Building for' -e '^Write swift-version' "$log" || true
    fi
    return $status
}

# Installs Debian packages that are missing (names with an :arch suffix are multiarch packages).
apt_install_missing() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} = 0 ] && return 0
    say "installing ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "need root to install ${missing[*]} (or install them yourself)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
        || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
        || die "apt-get install ${missing[*]} failed"
}

# The cross compiler, qemu and the arm64 multiarch -dev packages (scripts/packages-apt-arm64.txt).
ensure_cross_toolchain() {
    command -v swiftc >/dev/null || die "swiftc not found (PATH=/opt/swift/usr/bin:\$PATH)"
    [ -f "$unicode_tables" ] || die "the toolchain has no $unicode_tables"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        [ "$(id -u)" = 0 ] || die "need root for dpkg --add-architecture arm64"
        dpkg --add-architecture arm64
        apt-get update >/dev/null
    fi
    apt_install_missing gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user
    # shellcheck disable=SC2046
    apt_install_missing $(grep -v '^#' scripts/packages-apt-arm64.txt)
}

# Runs an aarch64 binary under qemu with a CPU model, using the host's multiarch loader and libraries
# (never -L /usr/aarch64-linux-gnu: pthread_create hangs there under qemu).
qemu_run() {
    local cpu=$1
    shift
    qemu-aarch64 -cpu "$cpu" -L / "$@"
}
