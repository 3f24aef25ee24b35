/* A Cyrus SASL (libsasl2) peer for the interop tests, driven over stdin/stdout. Linked with
 * the system's libsasl2 (not ours); compiled once per test run by tests/interop/mod.rs.
 *
 * Usage: cyrus_sasl_peer server|client [KEY=VALUE]...
 *   service=imap host=mail.example.org
 *   realm=R            server: the user realm (sasl_server_new); client: the realm answered
 *                      to SASL_CB_GETREALM (default: the first one offered)
 *   sasldb=PATH mech_list=... scram_iteration_counter=N   (SASL_CB_GETOPT)
 *   user=U password=P authzid=Z                           (client callbacks)
 *   min_ssf=0 max_ssf=256 maxbuf=65536                    (SASL_SEC_PROPS)
 *   cb_name=NAME cb_data=BASE64 cb_critical=0|1           (SASL_CHANNEL_BINDING)
 *   success_data=0|1   server: SASL_SUCCESS_DATA (additional data with the final OK)
 *
 * Commands, one per line (data in base64, "-" for empty):
 *   START MECH [DATA]  sasl_server_start (no DATA: no initial response) / sasl_client_start
 *   STEP DATA          sasl_server_step / sasl_client_step
 *   ENC DATA           sasl_encode
 *   DEC DATA           sasl_decode
 *   SSF                prints "SSF ssf maxoutbuf"
 *   USER               prints "USER username" (SASL_USERNAME)
 *   MECH               prints "MECH name", the mechanism the last client START chose
 *   NEW                a new connection in the same process (for Cyrus's reauth cache)
 * Replies: "OK [DATA]", "CONTINUE [DATA]" (no DATA: libsasl2 gave no output at all, "-": empty
 * output), "DATA DATA", "ERR code detail".
 */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *options[][2] = {
    {"service", "imap"}, {"host", "mail.example.org"}, {"realm", NULL}, {"sasldb", NULL},
    {"mech_list", NULL}, {"scram_iteration_counter", NULL}, {"user", NULL},
    {"password", NULL}, {"authzid", ""}, {"min_ssf", "0"}, {"max_ssf", "256"},
    {"maxbuf", "65536"}, {"cb_name", NULL}, {"cb_data", ""}, {"cb_critical", "0"},
    {"success_data", "0"},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

static const char *opt(const char *name) {
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (strcmp(options[i][0], name) == 0) return options[i][1];
    fprintf(stderr, "cyrus_sasl_peer: no option %s\n", name);
    exit(2);
}

static int set_opt(const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq) return 0;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (strlen(options[i][0]) == (size_t)(eq - arg) && strncmp(options[i][0], arg, eq - arg) == 0) {
            options[i][1] = eq + 1;
            return 1;
        }
    return 0;
}

static sasl_secret_t *secret;
static const char *chosen_mech = "";

static int getopt_cb(void *context, const char *plugin, const char *option,
                     const char **result, unsigned *len) {
    (void)context; (void)plugin;
    if (strcmp(option, "sasldb_path") == 0) *result = opt("sasldb");
    else if (strcmp(option, "mech_list") == 0) *result = opt("mech_list");
    else if (strcmp(option, "scram_iteration_counter") == 0) *result = opt("scram_iteration_counter");
    else if (strcmp(option, "pwcheck_method") == 0) *result = "auxprop";
    else if (strcmp(option, "auxprop_plugin") == 0) *result = "sasldb";
    else return SASL_FAIL;
    if (!*result) return SASL_FAIL;
    if (len) *len = strlen(*result);
    return SASL_OK;
}

static int log_cb(void *context, int level, const char *message) {
    (void)context;
    if (level > SASL_LOG_WARN) return SASL_OK;
    fprintf(stderr, "cyrus[%d]: %s\n", level, message);
    return SASL_OK;
}

static int simple_cb(void *context, int id, const char **result, unsigned *len) {
    (void)context;
    if (id == SASL_CB_AUTHNAME) *result = opt("user");
    else if (id == SASL_CB_USER) *result = opt("authzid");
    else return SASL_FAIL;
    if (!*result) return SASL_FAIL;
    if (len) *len = strlen(*result);
    return SASL_OK;
}

static int pass_cb(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret) {
    (void)conn; (void)context; (void)id;
    if (!secret) return SASL_FAIL;
    *psecret = secret;
    return SASL_OK;
}

static int realm_cb(void *context, int id, const char **availrealms, const char **result) {
    (void)context; (void)id;
    const char *realm = opt("realm");
    *result = realm ? realm : availrealms && availrealms[0] ? availrealms[0] : "";
    return SASL_OK;
}

/* "TAG" for no data, "TAG -" for empty data, "TAG base64" otherwise. */
static void reply(const char *tag, const char *data, unsigned len) {
    unsigned cap = len * 2 + 8, outlen = 0;
    char *b64 = malloc(cap);
    if (!data) {
        printf("%s\n", tag);
    } else if (len == 0) {
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

/* Decodes the base64 argument into a fresh buffer ("-" or none: empty). */
static int decode(const char *arg, char **out, unsigned *outlen) {
    size_t len = arg ? strlen(arg) : 0;
    *out = malloc(len + 4);
    *outlen = 0;
    if (!arg || strcmp(arg, "-") == 0) return SASL_OK;
    return sasl_decode64(arg, len, *out, len + 4, outlen);
}

static sasl_callback_t callbacks[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_USER, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_GETREALM, (int (*)(void))realm_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL}};
/* The server needs only the first two (the rest are client callbacks). */
static sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

static sasl_channel_binding_t binding;

/* A new connection with the configured properties. */
static int new_conn(int server, sasl_conn_t **conn) {
    sasl_security_properties_t props;
    int r;
    memset(&props, 0, sizeof props);
    props.min_ssf = atoi(opt("min_ssf"));
    props.max_ssf = atoi(opt("max_ssf"));
    props.maxbufsize = atoi(opt("maxbuf"));
    if (server) {
        unsigned flags = atoi(opt("success_data")) ? SASL_SUCCESS_DATA : 0;
        r = sasl_server_new(opt("service"), opt("host"), opt("realm"), NULL, NULL, NULL, flags, conn);
    } else {
        r = sasl_client_new(opt("service"), opt("host"), NULL, NULL, callbacks, 0, conn);
    }
    if (r == SASL_OK) r = sasl_setprop(*conn, SASL_SEC_PROPS, &props);
    if (r == SASL_OK && binding.name) r = sasl_setprop(*conn, SASL_CHANNEL_BINDING, &binding);
    return r;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
        fprintf(stderr, "usage: cyrus_sasl_peer server|client [KEY=VALUE]...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!set_opt(argv[i])) {
            fprintf(stderr, "cyrus_sasl_peer: bad option %s\n", argv[i]);
            return 2;
        }
    }
    int server = strcmp(argv[1], "server") == 0;
    if (opt("password")) {
        size_t n = strlen(opt("password"));
        secret = malloc(sizeof(sasl_secret_t) + n + 1);
        secret->len = n;
        memcpy(secret->data, opt("password"), n + 1);
    }
    if (opt("cb_name")) {
        char *data;
        unsigned len;
        if (decode(opt("cb_data"), &data, &len) != SASL_OK) {
            fprintf(stderr, "cyrus_sasl_peer: bad cb_data\n");
            return 2;
        }
        binding.name = opt("cb_name");
        binding.critical = atoi(opt("cb_critical"));
        binding.len = len;
        binding.data = (const unsigned char *)data;
    }
    sasl_conn_t *conn = NULL;
    int r = server ? sasl_server_init(server_callbacks, "puresasl-interop") : sasl_client_init(callbacks);
    if (r == SASL_OK) r = new_conn(server, &conn);
    if (r != SASL_OK) {
        error(conn, r);
        return 1;
    }

    static char line[200000];
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
            r = new_conn(server, &conn);
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
        if (strcmp(cmd, "USER") == 0) {
            const char *user = NULL;
            r = sasl_getprop(conn, SASL_USERNAME, (const void **)&user);
            if (r == SASL_OK) printf("USER %s\n", user ? user : "");
            else error(conn, r);
            fflush(stdout);
            continue;
        }
        if (strcmp(cmd, "MECH") == 0) {
            printf("MECH %s\n", chosen_mech);
            fflush(stdout);
            continue;
        }
        if (strcmp(cmd, "START") == 0) {
            if (!a1 || decode(a2, &in, &inlen) != SASL_OK) { error(conn, SASL_BADPROT); continue; }
            if (server) {
                r = sasl_server_start(conn, a1, a2 ? in : NULL, inlen, &out, &outlen);
            } else {
                const char *mech = NULL;
                r = sasl_client_start(conn, a1, NULL, &out, &outlen, &mech);
                chosen_mech = mech ? strdup(mech) : "";
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
            if (r == SASL_OK) reply("DATA", out ? out : "", outlen);
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
    sasl_done();
    return 0;
}
