/* A Cyrus SASL peer for interop tests, linked with Debian's libsasl2 (not ours).
 *
 * usage: cyrus_peer server|client MECH
 * Settings come from the environment:
 *   SASL_SERVICE (imap), SASL_FQDN (mail.example.org), SASL_USER_REALM (server, optional),
 *   SASLDB (server: sasldb_path), SASL_AUTHCID, SASL_PASSWORD, SASL_AUTHZID, SASL_REALM (client),
 *   SASL_MIN_SSF (0), SASL_MAX_SSF (0), SASL_MAXBUF (65536), SASL_SUCCESS_DATA (server flag, 0),
 *   SASL_CB_NAME / SASL_CB_DATA (channel binding, hex data), SASL_SCRAM_ITER.
 * Line protocol, one message a line, payloads in base64 (an empty payload is empty):
 *   server reads  "I:<b64>" (initial response) or "N:" (none) first, then "R:<b64>" responses;
 *   client prints "M:<mech>" then "I:<b64>" or "N:", then reads "C:<b64>" challenges;
 *   both print    "C:<b64>" (server challenge) / "R:<b64>" (client response),
 *                 "OK:<b64 additional data>:<ssf>:<username>" on success,
 *                 "FAIL:<code>:<detail>" on failure (then exit 1).
 *   After OK: "E:<b64>" asks to sasl_encode (prints "E:<b64>"), "D:<b64>" to sasl_decode
 *   (prints "D:<b64>"), EOF ends.
 */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *name, const char *def) {
    const char *v = getenv(name);
    return v ? v : def;
}

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len) {
    (void)ctx; (void)plugin;
    if (!strcmp(option, "sasldb_path")) *result = env("SASLDB", "/nonexistent");
    else if (!strcmp(option, "pwcheck_method")) *result = "auxprop";
    else if (!strcmp(option, "auxprop_plugin")) *result = "sasldb";
    else if (!strcmp(option, "mech_list")) *result = getenv("SASL_MECH_LIST");
    else if (!strcmp(option, "scram_iteration_counter")) *result = getenv("SASL_SCRAM_ITER");
    else if (!strcmp(option, "log_level")) *result = "0";
    else return SASL_FAIL;
    if (!*result) return SASL_FAIL;
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static int simple_cb(void *ctx, int id, const char **result, unsigned *len) {
    (void)ctx;
    const char *v = NULL;
    if (id == SASL_CB_AUTHNAME) v = getenv("SASL_AUTHCID");
    else if (id == SASL_CB_USER) v = env("SASL_AUTHZID", "");
    if (!v) return SASL_FAIL;
    *result = v;
    if (len) *len = (unsigned)strlen(v);
    return SASL_OK;
}

static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret) {
    (void)conn; (void)ctx; (void)id;
    const char *p = getenv("SASL_PASSWORD");
    if (!p) return SASL_FAIL;
    size_t n = strlen(p);
    if (!secret) {
        secret = malloc(sizeof(sasl_secret_t) + n + 1);
        secret->len = n;
        memcpy(secret->data, p, n + 1);
    }
    *psecret = secret;
    return SASL_OK;
}

static int realm_cb(void *ctx, int id, const char **avail, const char **result) {
    (void)ctx; (void)id;
    const char *r = getenv("SASL_REALM");
    *result = r ? r : (avail && avail[0] ? avail[0] : "");
    return SASL_OK;
}

static char line[65536 * 2];
static char buf[65536 * 2];

static void put(const char *tag, const char *data, unsigned len) {
    unsigned olen = 0;
    if (data && len) sasl_encode64(data, len, buf, sizeof buf, &olen);
    buf[olen] = 0;
    printf("%s:%s\n", tag, buf);
    fflush(stdout);
}

/* Reads a line "T:<b64>" and decodes the payload into buf; returns the tag or 0 on EOF. */
static char get(unsigned *len) {
    if (!fgets(line, sizeof line, stdin)) return 0;
    line[strcspn(line, "\r\n")] = 0;
    *len = 0;
    if (line[1] != ':') return '?';
    if (line[2] && sasl_decode64(line + 2, (unsigned)strlen(line + 2), buf, sizeof buf, len) != SASL_OK) return '?';
    return line[0];
}

static void fail(sasl_conn_t *conn, int r) {
    printf("FAIL:%d:%s\n", r, conn ? sasl_errdetail(conn) : sasl_errstring(r, NULL, NULL));
    fflush(stdout);
    exit(1);
}

static void secprops(sasl_conn_t *conn) {
    sasl_security_properties_t p;
    memset(&p, 0, sizeof p);
    p.min_ssf = (sasl_ssf_t)atoi(env("SASL_MIN_SSF", "0"));
    p.max_ssf = (sasl_ssf_t)atoi(env("SASL_MAX_SSF", "0"));
    p.maxbufsize = (unsigned)atoi(env("SASL_MAXBUF", "65536"));
    sasl_setprop(conn, SASL_SEC_PROPS, &p);
    const char *cb_name = getenv("SASL_CB_NAME");
    if (cb_name) {
        static sasl_channel_binding_t cb;
        static unsigned char data[256];
        const char *hex = env("SASL_CB_DATA", "");
        size_t n = strlen(hex) / 2;
        for (size_t i = 0; i < n && i < sizeof data; i++) sscanf(hex + 2 * i, "%2hhx", &data[i]);
        cb.name = cb_name;
        cb.critical = 0;
        cb.len = n;
        cb.data = data;
        sasl_setprop(conn, SASL_CHANNEL_BINDING, &cb);
    }
}

static void data_phase(sasl_conn_t *conn, const char *extra, unsigned extralen) {
    const void *ssf = NULL, *user = NULL;
    sasl_getprop(conn, SASL_SSF, &ssf);
    sasl_getprop(conn, SASL_USERNAME, &user);
    unsigned olen = 0;
    buf[0] = 0;
    if (extra && extralen) sasl_encode64(extra, extralen, buf, sizeof buf, &olen);
    printf("OK:%s:%u:%s\n", buf, ssf ? *(const unsigned *)ssf : 0, user ? (const char *)user : "");
    fflush(stdout);
    unsigned len;
    char tag;
    while ((tag = get(&len))) {
        const char *out;
        unsigned outlen;
        int r;
        if (tag == 'E') r = sasl_encode(conn, buf, len, &out, &outlen);
        else if (tag == 'D') r = sasl_decode(conn, buf, len, &out, &outlen);
        else { printf("FAIL:0:bad line\n"); fflush(stdout); exit(1); }
        if (r != SASL_OK) fail(conn, r);
        char t[2] = {tag, 0};
        put(t, out, outlen);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: cyrus_peer server|client MECH\n"); return 2; }
    const char *mech = argv[2];
    sasl_conn_t *conn = NULL;
    const char *out;
    unsigned outlen, len;
    int r;
    if (!strcmp(argv[1], "server")) {
        static sasl_callback_t cbs[] = {{SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL}, {SASL_CB_LIST_END, NULL, NULL}};
        if ((r = sasl_server_init(cbs, "puresasl-interop")) != SASL_OK) fail(NULL, r);
        unsigned flags = atoi(env("SASL_SUCCESS_DATA", "0")) ? SASL_SUCCESS_DATA : 0;
        if ((r = sasl_server_new(env("SASL_SERVICE", "imap"), env("SASL_FQDN", "mail.example.org"), getenv("SASL_USER_REALM"),
                                 NULL, NULL, NULL, flags, &conn)) != SASL_OK) fail(NULL, r);
        secprops(conn);
        char tag = get(&len);
        if (tag != 'I' && tag != 'N') fail(conn, SASL_BADPROT);
        r = sasl_server_start(conn, mech, tag == 'I' ? buf : NULL, tag == 'I' ? len : 0, &out, &outlen);
        while (r == SASL_CONTINUE) {
            put("C", out, outlen);
            if (get(&len) != 'R') fail(conn, SASL_BADPROT);
            r = sasl_server_step(conn, buf, len, &out, &outlen);
        }
        if (r != SASL_OK) fail(conn, r);
        data_phase(conn, flags ? out : NULL, flags && out ? outlen : 0);
    } else {
        static sasl_callback_t cbs[] = {
            {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
            {SASL_CB_USER, (int (*)(void))simple_cb, NULL},
            {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
            {SASL_CB_GETREALM, (int (*)(void))realm_cb, NULL},
            {SASL_CB_LIST_END, NULL, NULL}};
        if ((r = sasl_client_init(cbs)) != SASL_OK) fail(NULL, r);
        if ((r = sasl_client_new(env("SASL_SERVICE", "imap"), env("SASL_FQDN", "mail.example.org"), NULL, NULL, NULL, 0, &conn)) != SASL_OK) fail(NULL, r);
        secprops(conn);
        const char *chosen;
        r = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen);
        if (r != SASL_OK && r != SASL_CONTINUE) fail(conn, r);
        printf("M:%s\n", chosen);
        if (out) put("I", out, outlen); else { printf("N:\n"); fflush(stdout); }
        while (r == SASL_CONTINUE) {
            char tag = get(&len);
            if (tag != 'C') fail(conn, SASL_BADPROT);
            r = sasl_client_step(conn, buf, len, NULL, &out, &outlen);
            if (r != SASL_OK && r != SASL_CONTINUE) fail(conn, r);
            if (r == SASL_CONTINUE || outlen) put("R", out, outlen);
        }
        data_phase(conn, NULL, 0);
    }
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}
