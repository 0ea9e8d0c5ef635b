#!/usr/bin/env bash
# The main job's body (called by scripts/run-demo with the edge-daemon binary): replays samples/
# through the bundled model, with examples/overlay_subscriber.py printing each detection and writing
# overlays (mask outlines and boxes on the frame) into out/demo/.
set -o pipefail
daemon=${1:?usage: scripts/lib/demo.sh EDGE_DAEMON}
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"

# The bundled model (cross/package installs it as /usr/share/dualsam-edge/models/dualsam-tiny-int8.dsm).
model=${EDGE_MODEL:-models/dualsam-tiny-int8.dsm}
if [ ! -r "$model" ]; then
    echo "run-demo: the model file $model is missing, so there is nothing to run." >&2
    echo "run-demo: put the trained int8 model there (docs/MODELS.md), or point EDGE_MODEL at a model file." >&2
    exit 1
fi
if [ -z "$(ls samples/*.{png,jpg,jpeg,ppm} 2>/dev/null)" ]; then
    echo "run-demo: no sample frames in samples/" >&2
    exit 1
fi
case "$model" in /*) ;; *) model="$PWD/$model" ;; esac

out=out/demo
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
subscriber=
cleanup() {
    [ -n "$subscriber" ] && kill "$subscriber" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
endpoint="ipc://$work/detections.sock"
cat > "$work/edge.conf" <<CONF
[model]
path = $model
[replay]
path = $PWD/samples
rate = 0
lossless = true
[publish]
endpoints = $endpoint
camera = demo
[security]
plaintext = true
[log]
level = notice
CONF

# The subscriber connects first (libzmq retries until the daemon binds), so no detection is missed.
python examples/overlay_subscriber.py --endpoint "$endpoint" --camera demo --frames samples --out "$out" --timeout 60 &
subscriber=$!
sleep 1

status=0
"$daemon" run --config "$work/edge.conf" 2> >(tee "$work/daemon.log" >&2) || status=$?
# Give the subscriber a moment to take the last messages, then stop it.
sleep 1
kill -TERM "$subscriber" 2>/dev/null
wait "$subscriber" 2>/dev/null
subscriber=

if [ $status != 0 ]; then
    echo "run-demo: edge-daemon exited with status $status (see docs/DAEMON.md, exit codes)" >&2
    exit $status
fi
echo "run-demo: overlays in $out/: $(ls "$out" | wc -l) images"
