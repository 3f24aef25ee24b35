/* A Cyrus SASL (libsasl2) peer for the interop tests, driven over stdin/stdout.
 *
 * Usage: cyrus_sasl_peer server SERVICE HOST REALM SASLDB MIN_SSF MAX_SSF MAXBUF
 *        cyrus_sasl_peer client SERVICE HOST USER PASSWORD MIN_SSF MAX_SSF MAXBUF
 *
 * Commands, one per line (data in base64, "-" for none):
 *   START MECH [DATA]  sasl_server_start / sasl_client_start
 *   STEP DATA          sasl_server_step / sasl_client_step
 *   ENC DATA           sasl_encode
 *   DEC DATA           sasl_decode
 *   SSF                prints the negotiated SSF and maxoutbuf
 *   NEW                a new connection in the same process (for Cyrus's reauth cache)
 * Replies: "OK DATA", "CONTINUE DATA", "DATA DATA", "SSF n maxoutbuf", "ERR code detail".
 */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *sasldb_path;
static const char *user, *password;
static sasl_secret_t *secret;

static int getopt_cb(void *context, const char *plugin, const char *option,
                     const char **result, unsigned *len) {
    (void)context; (void)plugin;
    if (strcmp(option, "sasldb_path") == 0 && sasldb_path) {
        *result = sasldb_path;
        if (len) *len = strlen(sasldb_path);
        return SASL_OK;
    }
    return SASL_FAIL;
}

static int log_cb(void *context, int level, const char *message) {
    (void)context;
    if (level > SASL_LOG_WARN) return SASL_OK;
    fprintf(stderr, "cyrus[%d]: %s\n", level, message);
    return SASL_OK;
}

static int simple_cb(void *context, int id, const char **result, unsigned *len) {
    (void)context;
    if (id == SASL_CB_AUTHNAME) *result = user;
    else if (id == SASL_CB_USER) *result = "";
    else return SASL_FAIL;
    if (len) *len = strlen(*result);
    return SASL_OK;
}

static int pass_cb(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret) {
    (void)conn; (void)context; (void)id;
    *psecret = secret;
    return SASL_OK;
}

static int realm_cb(void *context, int id, const char **availrealms, const char **result) {
    (void)context; (void)id;
    *result = availrealms && availrealms[0] ? availrealms[0] : "";
    return SASL_OK;
}

static void reply(const char *tag, const char *data, unsigned len) {
    unsigned cap = len * 2 + 8, outlen = 0;
    char *b64 = malloc(cap);
    if (len == 0) {
        printf("%s -\n", tag);
    } else if (sasl_encode64(data, len, b64, cap, &outlen) == SASL_OK) {
        printf("%s %.*s\n", tag, (int)outlen, b64);
    } else {
        printf("ERR -1 base64\n");
    }
    free(b64);
    fflush(stdout);
}

static void error(sasl_conn_t *conn, int code) {
    printf("ERR %d %s\n", code, conn ? sasl_errdetail(conn) : sasl_errstring(code, NULL, NULL));
    fflush(stdout);
}

/* Decodes the base64 argument into a fresh buffer. */
static int decode(const char *arg, char **out, unsigned *outlen) {
    size_t len = arg ? strlen(arg) : 0;
    *out = malloc(len + 4);
    *outlen = 0;
    if (!arg || strcmp(arg, "-") == 0) return SASL_OK;
    return sasl_decode64(arg, len, *out, len + 4, outlen);
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: see source\n");
        return 2;
    }
    int server = strcmp(argv[1], "server") == 0;
    const char *service = argv[2], *host = argv[3];
    sasl_conn_t *conn = NULL;
    sasl_security_properties_t props;
    memset(&props, 0, sizeof props);
    props.min_ssf = atoi(argv[6]);
    props.max_ssf = atoi(argv[7]);
    props.maxbufsize = atoi(argv[8]);

    static sasl_callback_t server_cbs[] = {
        {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
        {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
        {SASL_CB_LIST_END, NULL, NULL}};
    static sasl_callback_t client_cbs[] = {
        {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
        {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
        {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
        {SASL_CB_USER, (int (*)(void))simple_cb, NULL},
        {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
        {SASL_CB_GETREALM, (int (*)(void))realm_cb, NULL},
        {SASL_CB_LIST_END, NULL, NULL}};
    int r;
    if (server) {
        sasldb_path = argv[5];
        r = sasl_server_init(server_cbs, "puresasl-interop");
        if (r == SASL_OK)
            r = sasl_server_new(service, host, argv[4], NULL, NULL, NULL, 0, &conn);
    } else {
        user = argv[4];
        password = argv[5];
        secret = malloc(sizeof(sasl_secret_t) + strlen(password) + 1);
        secret->len = strlen(password);
        memcpy(secret->data, password, secret->len + 1);
        r = sasl_client_init(client_cbs);
        if (r == SASL_OK)
            r = sasl_client_new(service, host, NULL, NULL, client_cbs, 0, &conn);
    }
    if (r == SASL_OK) r = sasl_setprop(conn, SASL_SEC_PROPS, &props);
    if (r != SASL_OK) {
        error(conn, r);
        return 1;
    }

    char line[200000];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char *cmd = strtok(line, " ");
        char *a1 = strtok(NULL, " ");
        char *a2 = strtok(NULL, " ");
        const char *out = NULL;
        unsigned outlen = 0;
        char *in;
        unsigned inlen;
        if (!cmd) continue;
        if (strcmp(cmd, "NEW") == 0) {
            sasl_dispose(&conn);
            if (server)
                r = sasl_server_new(service, host, argv[4], NULL, NULL, NULL, 0, &conn);
            else
                r = sasl_client_new(service, host, NULL, NULL, client_cbs, 0, &conn);
            if (r == SASL_OK) r = sasl_setprop(conn, SASL_SEC_PROPS, &props);
            if (r == SASL_OK) reply("OK", NULL, 0);
            else error(conn, r);
            continue;
        }
        if (strcmp(cmd, "SSF") == 0) {
            const int *ssf;
            const unsigned *maxout;
            sasl_getprop(conn, SASL_SSF, (const void **)&ssf);
            sasl_getprop(conn, SASL_MAXOUTBUF, (const void **)&maxout);
            printf("SSF %d %u\n", *ssf, *maxout);
            fflush(stdout);
            continue;
        }
        if (strcmp(cmd, "START") == 0) {
            if (decode(a2, &in, &inlen) != SASL_OK) { error(conn, SASL_BADPROT); continue; }
            if (server) {
                r = sasl_server_start(conn, a1, a2 ? in : NULL, inlen, &out, &outlen);
            } else {
                const char *mech = NULL;
                r = sasl_client_start(conn, a1, NULL, &out, &outlen, &mech);
            }
        } else if (strcmp(cmd, "STEP") == 0) {
            if (decode(a1, &in, &inlen) != SASL_OK) { error(conn, SASL_BADPROT); continue; }
            if (server)
                r = sasl_server_step(conn, in, inlen, &out, &outlen);
            else
                r = sasl_client_step(conn, in, inlen, NULL, &out, &outlen);
        } else if (strcmp(cmd, "ENC") == 0 || strcmp(cmd, "DEC") == 0) {
            if (decode(a1, &in, &inlen) != SASL_OK) { error(conn, SASL_BADPROT); continue; }
            if (cmd[0] == 'E')
                r = sasl_encode(conn, in, inlen, &out, &outlen);
            else
                r = sasl_decode(conn, in, inlen, &out, &outlen);
            if (r == SASL_OK) reply("DATA", out, outlen);
            else error(conn, r);
            free(in);
            continue;
        } else {
            error(conn, SASL_BADPARAM);
            continue;
        }
        free(in);
        if (r == SASL_OK) reply("OK", out, outlen);
        else if (r == SASL_CONTINUE) reply("CONTINUE", out, outlen);
        else error(conn, r);
    }
    sasl_dispose(&conn);
    return 0;
}
