/* One side of an authentication over stdin/stdout, so that a client on one libsasl2 can talk
 * to a server on another (ffi/tests/c_programs.rs pairs Cyrus's library with puresasl's).
 *
 *   pair server SASLDB MECH_LIST      (realm: the host name "pair.example.org")
 *   pair client MECH USER PASSWORD
 *
 * Lines: client "MECH <name> [<base64>|=]" (no field: no initial response; "=": empty), then
 * "RESP <base64>|="; server "CONT <base64>|=", "OK" or "FAIL <code>". Both exit 0 only on
 * success; the server prints the authenticated user name to stderr. Flags are 0, as in
 * Postfix, so success data comes as a last challenge. The server's pwcheck_method and
 * saslauthd_path come from $PAIR_PWCHECK and $PAIR_SASLAUTHD_PATH when set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

static const char *sasldb, *mech_list, *user, *password;
static char line[16384], decoded[16384], encoded[16384];

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    if (strcmp(option, "sasldb_path") == 0) *result = sasldb;
    else if (strcmp(option, "mech_list") == 0) *result = mech_list;
    else if (strcmp(option, "pwcheck_method") == 0)
        *result = getenv("PAIR_PWCHECK") ? getenv("PAIR_PWCHECK") : "auxprop";
    else if (strcmp(option, "saslauthd_path") == 0 && getenv("PAIR_SASLAUTHD_PATH"))
        *result = getenv("PAIR_SASLAUTHD_PATH");
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

/* Reads "VERB [data]"; returns the verb and sets *data (NULL if absent) and *len. */
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
    if (strcmp(line, "MECH") == 0 || strcmp(line, "FAIL") == 0) return line; /* not base64 */
    if (strcmp(space, "=") == 0) { *data = decoded; decoded[0] = 0; return line; }
    if (sasl_decode64(space, (unsigned)strlen(space), decoded, sizeof decoded, len) != SASL_OK) exit(4);
    *data = decoded;
    return line;
}

static int server(void)
{
    sasl_callback_t cbs[] = {{SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL}, {SASL_CB_LIST_END, NULL, NULL}};
    sasl_conn_t *conn = NULL;
    const char *verb, *data, *out = NULL;
    const void *name = NULL;
    unsigned len, outlen = 0;
    char mech[64];
    int r;

    if (sasl_server_init(cbs, "pair") != SASL_OK) return 2;
    if (sasl_server_new("pair", "pair.example.org", NULL, NULL, NULL, NULL, 0, &conn) != SASL_OK) return 2;
    verb = read_line(&data, &len);
    if (!verb || strncmp(verb, "MECH", 4) != 0) return 5;
    /* "MECH" is followed by the name, then the optional initial response. */
    {
        char *p = line + 5, *sp = strchr(p, ' ');
        snprintf(mech, sizeof mech, "%.*s", sp ? (int)(sp - p) : (int)strlen(p), p);
        data = NULL;
        len = 0;
        if (sp) {
            sp++;
            if (strcmp(sp, "=") == 0) { data = decoded; decoded[0] = 0; }
            else if (sasl_decode64(sp, (unsigned)strlen(sp), decoded, sizeof decoded, &len) == SASL_OK) data = decoded;
            else return 4;
        }
    }
    r = sasl_server_start(conn, mech, data, len, &out, &outlen);
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
    sasl_getprop(conn, SASL_USERNAME, &name);
    fprintf(stderr, "authenticated %s\n", name ? (const char *)name : "(null)");
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}

static int client(const char *mech)
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
    char start[128];

    if (sasl_client_init(NULL) != SASL_OK) return 2;
    if (sasl_client_new("pair", getenv("PAIR_CLIENT_FQDN") ? getenv("PAIR_CLIENT_FQDN") : "pair.example.org", NULL, NULL, cbs, 0, &conn) != SASL_OK) return 2;
    r = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen);
    if (r != SASL_OK && r != SASL_CONTINUE) { fprintf(stderr, "client start: %d\n", r); return 1; }
    snprintf(start, sizeof start, "MECH %s", chosen);
    send_line(start, out, outlen, out != NULL);
    for (;;) {
        verb = read_line(&data, &len);
        if (!verb) return 6;
        if (strcmp(verb, "OK") == 0) break;
        if (strcmp(verb, "FAIL") == 0) { fprintf(stderr, "server refused\n"); return 1; }
        r = sasl_client_step(conn, data ? data : "", len, NULL, &out, &outlen);
        if (r != SASL_OK && r != SASL_CONTINUE) {
            fprintf(stderr, "client step: %d %s\n", r, sasl_errdetail(conn));
            printf("RESP =\n");
            fflush(stdout);
            return 1;
        }
        send_line("RESP", out ? out : "", outlen, 1);
    }
    sasl_dispose(&conn);
    sasl_done();
    return 0;
}

int main(int argc, char **argv)
{
    int r;
    if (argc == 4 && strcmp(argv[1], "server") == 0) {
        sasldb = argv[2];
        mech_list = argv[3];
        return server();
    }
    if (argc == 5 && strcmp(argv[1], "client") == 0) {
        user = argv[3];
        password = argv[4];
        secret = malloc(sizeof(sasl_secret_t) + strlen(password));
        secret->len = strlen(password);
        memcpy(secret->data, password, strlen(password) + 1);
        r = client(argv[2]);
        free(secret);
        return r;
    }
    fprintf(stderr, "usage: pair server SASLDB MECH_LIST | pair client MECH USER PASSWORD\n");
    return 2;
}
