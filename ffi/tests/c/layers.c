/* DIGEST-MD5 security layers between two processes, one on each library (issue 14):
 * sasl_encode of more than SASL_MAXOUTBUF (split into packets by the library), sasl_decode of
 * input split anywhere and of several packets in one buffer, and SASL_MAXOUTBUF's value.
 *
 *   layers server SASLDB               (realm: the host name "pair.example.org")
 *   layers client USER PASSWORD MIN_SSF MAX_SSF
 *
 * Authentication runs as in pair.c (text lines on stdin/stdout); then, for every payload size
 * from 1 byte to 1 MB, the client sends "u32 length, sasl_encode output" and the server
 * checks what sasl_decode gives, then sends the same payload back the same way. The receiver
 * feeds sasl_decode the whole frame, or pieces of 1, 3, 4093 or 70000 bytes, by turns. Each
 * side prints "maxoutbuf N ssf S" and "ok" to stderr and exits 0 only if every payload came
 * through intact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

static const char *sasldb, *user, *password;
static char line[16384], decoded[16384], encoded[16384];

static const unsigned sizes[] = {1, 100, 65510, 65511, 65512, 65521, 65536, 150000, 1048576};
static const unsigned pieces[] = {0, 1, 3, 4093, 70000};

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    if (strcmp(option, "sasldb_path") == 0) *result = sasldb;
    else if (strcmp(option, "mech_list") == 0) *result = "DIGEST-MD5";
    else if (strcmp(option, "pwcheck_method") == 0) *result = "auxprop";
    else return SASL_FAIL;
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    *result = id == SASL_CB_AUTHNAME ? user : "";
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)conn; (void)ctx; (void)id;
    *psecret = secret;
    return SASL_OK;
}

static void send_line(const char *verb, const char *data, unsigned len, int have_data)
{
    unsigned outlen = 0;
    if (!have_data) { printf("%s\n", verb); fflush(stdout); return; }
    if (len == 0) { printf("%s =\n", verb); fflush(stdout); return; }
    if (sasl_encode64(data, len, encoded, sizeof encoded, &outlen) != SASL_OK) exit(3);
    printf("%s %s\n", verb, encoded);
    fflush(stdout);
}

static const char *read_line(const char **data, unsigned *len)
{
    char *space, *end;
    *data = NULL;
    *len = 0;
    if (!fgets(line, sizeof line, stdin)) return NULL;
    end = line + strlen(line);
    while (end > line && (end[-1] == '\n' || end[-1] == '\r')) *--end = 0;
    space = strchr(line, ' ');
    if (!space) return line;
    *space++ = 0;
    if (strcmp(line, "MECH") == 0 || strcmp(line, "FAIL") == 0) return line;
    if (strcmp(space, "=") == 0) { *data = decoded; decoded[0] = 0; return line; }
    if (sasl_decode64(space, (unsigned)strlen(space), decoded, sizeof decoded, len) != SASL_OK) exit(4);
    *data = decoded;
    return line;
}

static unsigned char *payload(unsigned size)
{
    unsigned char *p = malloc(size);
    if (!p) exit(7);
    for (unsigned i = 0; i < size; i++) p[i] = (unsigned char)(i * 7 + size + (i >> 9));
    return p;
}

static void report(sasl_conn_t *conn)
{
    const void *value = NULL;
    unsigned maxoutbuf = 0, ssf = 0;
    if (sasl_getprop(conn, SASL_MAXOUTBUF, &value) == SASL_OK && value) maxoutbuf = *(const unsigned *)value;
    if (sasl_getprop(conn, SASL_SSF, &value) == SASL_OK && value) ssf = *(const sasl_ssf_t *)value;
    fprintf(stderr, "maxoutbuf %u ssf %u\n", maxoutbuf, ssf);
}

static int send_payload(sasl_conn_t *conn, unsigned size)
{
    unsigned char *data = payload(size), head[4];
    const char *out = NULL;
    unsigned outlen = 0;
    int r = sasl_encode(conn, (const char *)data, size, &out, &outlen);
    free(data);
    if (r != SASL_OK) { fprintf(stderr, "encode %u: %d %s\n", size, r, sasl_errdetail(conn)); return 0; }
    head[0] = (unsigned char)(outlen >> 24); head[1] = (unsigned char)(outlen >> 16);
    head[2] = (unsigned char)(outlen >> 8); head[3] = (unsigned char)outlen;
    if (fwrite(head, 1, 4, stdout) != 4 || fwrite(out, 1, outlen, stdout) != outlen) return 0;
    fflush(stdout);
    return 1;
}

static int receive_payload(sasl_conn_t *conn, unsigned size, unsigned turn)
{
    unsigned char head[4], *frame, *expected, *got;
    unsigned framelen, gotlen = 0, piece = pieces[turn % (sizeof pieces / sizeof pieces[0])];
    int ok;
    if (fread(head, 1, 4, stdin) != 4) return 0;
    framelen = (unsigned)head[0] << 24 | (unsigned)head[1] << 16 | (unsigned)head[2] << 8 | head[3];
    if (framelen > 4u << 20) return 0;
    frame = malloc(framelen ? framelen : 1);
    got = malloc(size);
    if (!frame || !got || fread(frame, 1, framelen, stdin) != framelen) return 0;
    for (unsigned at = 0; at < framelen;) {
        unsigned n = piece == 0 || piece > framelen - at ? framelen - at : piece;
        const char *out = NULL;
        unsigned outlen = 0;
        int r = sasl_decode(conn, (const char *)frame + at, n, &out, &outlen);
        if (r != SASL_OK) { fprintf(stderr, "decode %u at %u: %d %s\n", size, at, r, sasl_errdetail(conn)); return 0; }
        if (outlen > size - gotlen) { fprintf(stderr, "decode %u: too much\n", size); return 0; }
        if (outlen) memcpy(got + gotlen, out, outlen);
        gotlen += outlen;
        at += n;
    }
    expected = payload(size);
    ok = gotlen == size && memcmp(got, expected, size) == 0;
    if (!ok) fprintf(stderr, "payload %u: got %u bytes, %s\n", size, gotlen, gotlen == size ? "different" : "short");
    free(expected);
    free(got);
    free(frame);
    return ok;
}

static void set_props(sasl_conn_t *conn, unsigned min, unsigned max)
{
    sasl_security_properties_t props;
    memset(&props, 0, sizeof props);
    props.min_ssf = min;
    props.max_ssf = max;
    props.maxbufsize = 65536;
    sasl_setprop(conn, SASL_SEC_PROPS, &props);
}

static int server(void)
{
    sasl_callback_t cbs[] = {{SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL}, {SASL_CB_LIST_END, NULL, NULL}};
    sasl_conn_t *conn = NULL;
    const char *verb, *data, *out = NULL;
    unsigned len, outlen = 0;
    int r;

    if (sasl_server_init(cbs, "layers") != SASL_OK) return 2;
    if (sasl_server_new("pair", "pair.example.org", NULL, NULL, NULL, NULL, 0, &conn) != SASL_OK) return 2;
    set_props(conn, 0, 256);
    verb = read_line(&data, &len);
    if (!verb || strcmp(verb, "MECH") != 0) return 5;
    r = sasl_server_start(conn, "DIGEST-MD5", NULL, 0, &out, &outlen);
    while (r == SASL_CONTINUE) {
        send_line("CONT", out, outlen, 1);
        verb = read_line(&data, &len);
        if (!verb || strcmp(verb, "RESP") != 0) return 5;
        r = sasl_server_step(conn, data ? data : "", len, &out, &outlen);
    }
    if (r != SASL_OK) {
        printf("FAIL %d\n", r);
        fflush(stdout);
        fprintf(stderr, "server: %s\n", sasl_errdetail(conn));
        return 1;
    }
    printf("OK\n");
    fflush(stdout);
    report(conn);
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (!receive_payload(conn, sizes[i], i)) return 1;
        if (!send_payload(conn, sizes[i])) return 1;
    }
    fprintf(stderr, "ok\n");
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}

static int client(unsigned min, unsigned max)
{
    sasl_callback_t cbs[] = {
        {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
        {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn = NULL;
    const char *out = NULL, *chosen = NULL, *verb, *data;
    unsigned outlen = 0, len;
    int r;

    if (sasl_client_init(NULL) != SASL_OK) return 2;
    if (sasl_client_new("pair", "pair.example.org", NULL, NULL, cbs, 0, &conn) != SASL_OK) return 2;
    set_props(conn, min, max);
    r = sasl_client_start(conn, "DIGEST-MD5", NULL, &out, &outlen, &chosen);
    if (r != SASL_CONTINUE) { fprintf(stderr, "client start: %d\n", r); return 1; }
    send_line("MECH DIGEST-MD5", NULL, 0, 0);
    for (;;) {
        verb = read_line(&data, &len);
        if (!verb) return 6;
        if (strcmp(verb, "OK") == 0) break;
        if (strcmp(verb, "FAIL") == 0) { fprintf(stderr, "server refused\n"); return 1; }
        r = sasl_client_step(conn, data ? data : "", len, NULL, &out, &outlen);
        if (r != SASL_OK && r != SASL_CONTINUE) {
            fprintf(stderr, "client step: %d %s\n", r, sasl_errdetail(conn));
            return 1;
        }
        send_line("RESP", out ? out : "", outlen, 1);
    }
    report(conn);
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (!send_payload(conn, sizes[i])) return 1;
        if (!receive_payload(conn, sizes[i], i + 2)) return 1;
    }
    fprintf(stderr, "ok\n");
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}

int main(int argc, char **argv)
{
    int r;
    if (argc == 3 && strcmp(argv[1], "server") == 0) {
        sasldb = argv[2];
        return server();
    }
    if (argc == 6 && strcmp(argv[1], "client") == 0) {
        user = argv[2];
        password = argv[3];
        secret = malloc(sizeof(sasl_secret_t) + strlen(password));
        secret->len = strlen(password);
        memcpy(secret->data, password, strlen(password) + 1);
        r = client((unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]));
        free(secret);
        return r;
    }
    fprintf(stderr, "usage: layers server SASLDB | layers client USER PASSWORD MIN_SSF MAX_SSF\n");
    return 2;
}
