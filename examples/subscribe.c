/* Subscribe to dualsam-edge detections with plain libzmq (docs/WIRE.md).
 *
 *   cc -O2 -o subscribe examples/subscribe.c -lzmq
 *   ./subscribe tcp://robot.local:5555                 # every detection topic, forever
 *   ./subscribe tcp://robot.local:5555 det/cam0 100    # one camera, stop after 100 messages
 *   SERVER_KEY=server.pub CLIENT_KEY=me.key ./subscribe tcp://robot.local:5555    # CURVE
 *
 * Prints one line per detection message and reports seq gaps. It reads only a few top-level fields
 * by name (the publisher writes compact JSON with unique keys); a real consumer should parse the
 * body with a JSON library (cJSON, jansson) and decode masks as described in docs/WIRE.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define SCHEMA_MAJOR 1
#define MAX_BODY (4 << 20)

/* The first 40-character token of a dualsam-edge key file that is not a '#' comment. */
static int read_key(const char *path, char key[41]) {
    FILE *f = fopen(path, "r");
    char line[256];
    if (!f) { perror(path); return -1; }
    while (fgets(line, sizeof line, f)) {
        char *start = line + strspn(line, " \t");
        size_t n = strcspn(start, " \t\r\n");
        if (n == 40) {
            memcpy(key, start, 40);
            key[40] = 0;
            fclose(f);
            return 0;
        }
    }
    fclose(f);
    fprintf(stderr, "%s: no Z85 key found\n", path);
    return -1;
}

/* Finds "key": at the top level of our compact JSON and returns a pointer to its value. */
static const char *field(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *p = strstr(json, pattern);
    return p ? p + strlen(pattern) : NULL;
}

static int count_instances(const char *json) {
    const char *p = field(json, "instances");
    int n = 0;
    if (!p || *p != '[' || p[1] == ']') return 0;
    /* Every instance object starts with {"id": and strings escape their quotes, so this is exact. */
    for (const char *q = p; (q = strstr(q, "{\"id\":")) != NULL; q++) n++;
    return n;
}

int main(int argc, char **argv) {
    const char *endpoint = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    const char *topic = argc > 2 ? argv[2] : "det/";
    long limit = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    void *context = zmq_ctx_new();
    void *sub = zmq_socket(context, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);

    const char *server_key_path = getenv("SERVER_KEY"), *client_key_path = getenv("CLIENT_KEY");
    if (server_key_path && client_key_path) {
        char server[41], secret[41], public_key[41];
        if (read_key(server_key_path, server) || read_key(client_key_path, secret)) return 2;
        if (zmq_curve_public(public_key, secret) != 0) { fprintf(stderr, "bad client key\n"); return 2; }
        zmq_setsockopt(sub, ZMQ_CURVE_SERVERKEY, server, 40);
        zmq_setsockopt(sub, ZMQ_CURVE_PUBLICKEY, public_key, 40);
        zmq_setsockopt(sub, ZMQ_CURVE_SECRETKEY, secret, 40);
    }
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
    if (zmq_connect(sub, endpoint) != 0) {
        fprintf(stderr, "connect %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        return 2;
    }

    char *body = malloc(MAX_BODY + 1);
    char name[256];
    char last_topic[256] = "";
    uint64_t last_seq = 0;
    int have_last = 0;
    long received = 0;
    while (!limit || received < limit) {
        int more = 0;
        size_t more_size = sizeof more;
        int n = zmq_recv(sub, name, sizeof name - 1, 0);
        if (n < 0) { fprintf(stderr, "recv: %s\n", zmq_strerror(zmq_errno())); break; }
        name[n < (int)sizeof name - 1 ? n : (int)sizeof name - 1] = 0;
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &more_size);
        if (!more) { fprintf(stderr, "%s: missing body frame\n", name); continue; }
        n = zmq_recv(sub, body, MAX_BODY, 0);
        if (n < 0) break;
        if (n > MAX_BODY) { fprintf(stderr, "%s: message too large (%d bytes)\n", name, n); continue; }
        body[n] = 0;

        const char *schema = field(body, "schema");
        if (!schema || *schema != '"' || strtol(schema + 1, NULL, 10) != SCHEMA_MAJOR) {
            fprintf(stderr, "%s: unsupported schema, message skipped\n", name);
            continue;
        }
        const char *seq_text = field(body, "seq"), *frame_text = field(body, "frame_id");
        if (!seq_text || !frame_text) { fprintf(stderr, "%s: not a detection message\n", name); continue; }
        uint64_t seq = strtoull(seq_text, NULL, 10);
        uint64_t frame = strtoull(frame_text, NULL, 10);
        if (have_last && strcmp(last_topic, name) == 0 && seq > last_seq + 1)
            printf("GAP %s: missed %" PRIu64 " message(s)\n", name, seq - last_seq - 1);
        snprintf(last_topic, sizeof last_topic, "%s", name);
        last_seq = seq;
        have_last = 1;
        printf("%s seq=%" PRIu64 " frame=%" PRIu64 " instances=%d bytes=%d\n", name, seq, frame,
               count_instances(body), n);
        fflush(stdout);
        received++;
    }
    free(body);
    zmq_close(sub);
    zmq_ctx_term(context);
    return 0;
}
