/* Callbacks that call back into the library on their own connection, as real applications
 * do (OpenLDAP's canon_user calls sasl_getprop, servers log through sasl_errdetail): every
 * server and client callback here calls sasl_getprop, sasl_errdetail and sasl_seterror on the
 * connection it serves, during exchanges of every common mechanism. Run on our library under
 * AddressSanitizer and on Cyrus's by ffi/tests/c_programs.rs. Prints "ok" lines and exits 0
 * only if every check passed. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static sasl_conn_t *server_conn, *client_conn;
static int reentries;

/* What every callback does to its connection: read properties, the error detail, set one. */
static void poke(sasl_conn_t *conn, const char *who)
{
    if (conn == NULL) return;
    const void *value = NULL;
    (void)sasl_getprop(conn, SASL_USERNAME, &value);
    (void)sasl_getprop(conn, SASL_MECHNAME, &value);
    (void)sasl_getprop(conn, SASL_SSF, &value);
    const char *detail = sasl_errdetail(conn);
    CHECK(detail != NULL, "errdetail in %s", who);
    sasl_seterror(conn, SASL_NOLOG, "re-entered from %s", who);
    reentries++;
}

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    poke(server_conn, "getopt");
    const char *value = NULL;
    if (strcmp(option, "pwcheck_method") == 0) value = "auxprop";
    else if (strcmp(option, "auxprop_plugin") == 0) value = "sasldb";
    else if (strcmp(option, "sasldb_path") == 0) value = getenv("TEST_SASLDB");
    else if (strcmp(option, "mech_list") == 0) value = "PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256";
    if (value == NULL) return SASL_FAIL;
    *result = value;
    if (len) *len = (unsigned)strlen(value);
    return SASL_OK;
}

static int log_cb(void *ctx, int level, const char *msg)
{
    (void)level; (void)msg;
    poke(*(sasl_conn_t **)ctx, "log");
    return SASL_OK;
}

static int canon_cb(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                    const char *user_realm, char *out, unsigned out_max, unsigned *out_len)
{
    (void)ctx; (void)flags; (void)user_realm;
    poke(conn, "canon_user");
    if (inlen >= out_max) return SASL_BUFOVER;
    memcpy(out, in, inlen);
    out[inlen] = 0;
    *out_len = inlen;
    return SASL_OK;
}

static int proxy_cb(sasl_conn_t *conn, void *ctx, const char *requested, unsigned rlen,
                    const char *auth, unsigned alen, const char *realm, unsigned urlen, struct propctx *props)
{
    (void)ctx; (void)requested; (void)rlen; (void)auth; (void)alen; (void)realm; (void)urlen; (void)props;
    poke(conn, "proxy_policy");
    return SASL_OK;
}

static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    poke(client_conn, "simple");
    *result = id == SASL_CB_AUTHNAME ? "alice" : (const char *)"";
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)ctx; (void)id;
    poke(conn, "pass");
    if (!secret) {
        secret = malloc(sizeof(sasl_secret_t) + 8);
        secret->len = 6;
        memcpy(secret->data, "secret", 7);
    }
    *psecret = secret;
    return SASL_OK;
}

static int realm_cb(void *ctx, int id, const char **availrealms, const char **result)
{
    (void)ctx; (void)id;
    poke(client_conn, "getrealm");
    *result = availrealms && availrealms[0] ? availrealms[0] : "";
    return SASL_OK;
}

static sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, &server_conn},
    {SASL_CB_CANON_USER, (int (*)(void))canon_cb, NULL},
    {SASL_CB_PROXY_POLICY, (int (*)(void))proxy_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static sasl_callback_t client_callbacks[] = {
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_USER, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_GETREALM, (int (*)(void))realm_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, &client_conn},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int exchange(const char *mech)
{
    const char *out = NULL, *chosen = NULL;
    unsigned outlen = 0;
    int r = sasl_server_new("imap", "mail.example.org", NULL, NULL, NULL, server_callbacks, 0, &server_conn);
    CHECK(r == SASL_OK, "server_new: %d", r);
    r = sasl_client_new("imap", "mail.example.org", NULL, NULL, client_callbacks, 0, &client_conn);
    CHECK(r == SASL_OK, "client_new: %d", r);
    int c = sasl_client_start(client_conn, mech, NULL, &out, &outlen, &chosen);
    if (c != SASL_OK && c != SASL_CONTINUE) { CHECK(0, "%s client_start: %d", mech, c); return c; }
    int s = sasl_server_start(server_conn, chosen, out, outlen, &out, &outlen);
    for (int round = 0; s == SASL_CONTINUE && round < 10; round++) {
        c = sasl_client_step(client_conn, out, outlen, NULL, &out, &outlen);
        if (c != SASL_OK && c != SASL_CONTINUE) break;
        s = sasl_server_step(server_conn, out, outlen, &out, &outlen);
    }
    const char *user = NULL;
    if (s == SASL_OK) sasl_getprop(server_conn, SASL_USERNAME, (const void **)&user);
    CHECK(s == SASL_OK && user && strncmp(user, "alice", 5) == 0, "%s: server %d client %d user %s (%s)", mech, s, c, user ? user : "-", sasl_errdetail(server_conn));
    sasl_dispose(&client_conn);
    sasl_dispose(&server_conn);
    return s;
}

int main(void)
{
    int r = sasl_server_init(server_callbacks, "reentry");
    CHECK(r == SASL_OK, "server_init: %d", r);
    r = sasl_client_init(NULL);
    CHECK(r == SASL_OK, "client_init: %d", r);
    sasl_conn_t *admin = NULL;
    r = sasl_server_new("imap", "mail.example.org", NULL, NULL, NULL, server_callbacks, 0, &admin);
    CHECK(r == SASL_OK, "server_new: %d", r);
    server_conn = admin;
    r = sasl_setpass(admin, "alice", "secret", 6, NULL, 0, SASL_SET_CREATE);
    CHECK(r == SASL_OK, "setpass: %d %s", r, sasl_errdetail(admin));
    r = sasl_checkpass(admin, "alice", 0, "secret", 6);
    CHECK(r == SASL_OK, "checkpass: %d", r);
    r = sasl_user_exists(admin, NULL, NULL, "alice");
    CHECK(r == SASL_OK, "user_exists: %d", r);
    sasl_dispose(&admin);
    server_conn = NULL;
    const char *mechs[] = {"PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256"};
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (exchange(mechs[i]) == SASL_OK) printf("ok %s\n", mechs[i]);
    CHECK(reentries > 20, "only %d re-entries", reentries);
    free(secret);
    sasl_server_done();
    sasl_client_done();
    if (failures == 0) printf("ok all\n");
    return failures ? 1 : 0;
}
