/* ANONYMOUS and EXTERNAL through the C API (issue 14), run on our library and on Cyrus's by
 * ffi/tests/c_programs.rs:
 *   anonymous         listed unless noanonymous; the trace is logged, the user is "anonymous"
 *                     (with the user realm as Cyrus appends it); with and without an initial
 *                     response;
 *   external-server   offered only once SASL_AUTH_EXTERNAL is set; authorises as that
 *                     identity, or as the requested one if the proxy policy allows (its code
 *                     otherwise); SASL_SSF_EXTERNAL reported back; a second exchange on the same
 *                     connection still sees the external properties; "anonymous" refused under
 *                     noanonymous;
 *   external-client   chosen only with SASL_AUTH_EXTERNAL; sends the USER value or nothing;
 *   anonymous-client  the client sends a trace; noanonymous removes the mechanism;
 *   pairs             both mechanisms end to end, client against server.
 * Prints "ok <case>" lines and "code ..." lines (compared between the libraries) and exits 0
 * only if every check passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sasl/sasl.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    const char *value = NULL;
    (void)ctx; (void)plugin;
    if (strcmp(option, "mech_list") == 0) value = "EXTERNAL PLAIN ANONYMOUS";
    else if (strcmp(option, "log_level") == 0) value = "5";
    else if (strcmp(option, "sasldb_path") == 0) value = getenv("TEST_SASLDB");
    if (!value) return SASL_FAIL;
    *result = value;
    if (len) *len = (unsigned)strlen(value);
    return SASL_OK;
}

static char logged[4096];
static int log_cb(void *ctx, int level, const char *message)
{
    (void)ctx;
    if (level <= SASL_LOG_NOTE && message && strlen(logged) + strlen(message) + 2 < sizeof logged) {
        strcat(logged, message);
        strcat(logged, "\n");
    }
    return SASL_OK;
}

static sasl_callback_t global_cbs[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* PROXY_POLICY: cert-holder may act as fred; anything else is SASL_NOAUTHZ. */
static int policy_cb(sasl_conn_t *conn, void *ctx, const char *requested, unsigned rlen,
                     const char *auth, unsigned alen, const char *def_realm, unsigned urlen,
                     struct propctx *propctx)
{
    (void)conn; (void)ctx; (void)def_realm; (void)urlen; (void)propctx;
    if (rlen == alen && memcmp(requested, auth, rlen) == 0) return SASL_OK;
    if (rlen == 4 && memcmp(requested, "fred", 4) == 0 && alen == 11 && memcmp(auth, "cert-holder", 11) == 0)
        return SASL_OK;
    return SASL_NOAUTHZ;
}
static sasl_callback_t policy_cbs[] = {
    {SASL_CB_PROXY_POLICY, (int (*)(void))policy_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static const char *client_user = "";
static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id == SASL_CB_AUTHNAME) *result = "trace-user";
    else if (id == SASL_CB_USER) *result = client_user;
    else return SASL_BADPARAM;
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}
static sasl_secret_t secret = {0, {0}};
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)conn; (void)ctx; (void)id;
    *psecret = &secret;
    return SASL_OK;
}
static sasl_callback_t client_cbs[] = {
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_USER, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static void set_flags(sasl_conn_t *conn, unsigned flags)
{
    sasl_security_properties_t props;
    memset(&props, 0, sizeof props);
    props.max_ssf = 256;
    props.maxbufsize = 65536;
    props.security_flags = flags;
    CHECK(sasl_setprop(conn, SASL_SEC_PROPS, &props) == SASL_OK, "secprops");
}

static sasl_conn_t *server(const char *realm, sasl_callback_t *cbs)
{
    sasl_conn_t *conn = NULL;
    int r = sasl_server_new("ldap", "ldap.example.org", realm, NULL, NULL, cbs, 0, &conn);
    CHECK(r == SASL_OK, "server_new %d", r);
    return conn;
}

static void listed(sasl_conn_t *conn, char *buf, size_t size)
{
    const char *list = NULL;
    buf[0] = 0;
    if (sasl_listmech(conn, NULL, " ", " ", " ", &list, NULL, NULL) == SASL_OK) snprintf(buf, size, "%s", list);
}

static const char *username(sasl_conn_t *conn)
{
    const void *name = NULL;
    if (sasl_getprop(conn, SASL_USERNAME, &name) != SASL_OK || !name) return "(none)";
    return name;
}

static void anonymous(void)
{
    char list[512];
    const char *out = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn = server(NULL, NULL);
    int r;

    listed(conn, list, sizeof list);
    CHECK(strstr(list, " ANONYMOUS ") != NULL, "ANONYMOUS not listed: %s", list);
    CHECK(strstr(list, " EXTERNAL ") == NULL, "EXTERNAL listed without SASL_AUTH_EXTERNAL: %s", list);
    logged[0] = 0;
    r = sasl_server_start(conn, "ANONYMOUS", "sirhc", 5, &out, &outlen);
    CHECK(r == SASL_OK, "ANONYMOUS start: %d", r);
    CHECK(strcmp(username(conn), "anonymous") == 0, "ANONYMOUS user %s", username(conn));
    CHECK(strstr(logged, "ANONYMOUS login: \"sirhc\"") != NULL, "trace not logged: %s", logged);
    sasl_dispose(&conn);

    /* No initial response: an empty challenge, then the trace. */
    conn = server("EXAMPLE.ORG", NULL);
    r = sasl_server_start(conn, "ANONYMOUS", NULL, 0, &out, &outlen);
    CHECK(r == SASL_CONTINUE && outlen == 0, "ANONYMOUS without initial response: %d %u", r, outlen);
    r = sasl_server_step(conn, "", 0, &out, &outlen);
    CHECK(r == SASL_OK, "ANONYMOUS step: %d", r);
    printf("code anonymous user with realm %s\n", username(conn));
    sasl_dispose(&conn);

    /* noanonymous: neither listed nor startable. */
    conn = server(NULL, NULL);
    set_flags(conn, SASL_SEC_NOANONYMOUS);
    listed(conn, list, sizeof list);
    CHECK(strstr(list, "ANONYMOUS") == NULL, "ANONYMOUS listed under noanonymous: %s", list);
    r = sasl_server_start(conn, "ANONYMOUS", "x", 1, &out, &outlen);
    CHECK(r == SASL_NOMECH, "ANONYMOUS under noanonymous: %d", r);
    sasl_dispose(&conn);
    printf("ok anonymous\n");
}

static int external_start(sasl_conn_t *conn, const char *authzid)
{
    const char *out = NULL;
    unsigned outlen = 0;
    return sasl_server_start(conn, "EXTERNAL", authzid, authzid ? (unsigned)strlen(authzid) : 0, &out, &outlen);
}

static void external_server(void)
{
    char list[512];
    const char *out = NULL;
    unsigned outlen = 0;
    sasl_ssf_t ssf = 256;
    const void *value = NULL;
    sasl_conn_t *conn = server(NULL, policy_cbs);
    int r;

    r = external_start(conn, "");
    CHECK(r == SASL_NOMECH, "EXTERNAL without SASL_AUTH_EXTERNAL: %d", r);
    CHECK(sasl_setprop(conn, SASL_SSF_EXTERNAL, &ssf) == SASL_OK, "setprop ssf");
    CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cert-holder") == SASL_OK, "setprop auth external");
    listed(conn, list, sizeof list);
    CHECK(strstr(list, " EXTERNAL ") != NULL, "EXTERNAL not listed: %s", list);
    r = external_start(conn, "root");
    CHECK(r == SASL_NOAUTHZ, "EXTERNAL as root: %d", r);
    /* A second exchange on the same connection: the external properties still hold. (After
     * a successful one Cyrus refuses any further step on the connection.) */
    r = external_start(conn, "fred");
    CHECK(r == SASL_OK, "second EXTERNAL, as fred: %d", r);
    CHECK(strcmp(username(conn), "fred") == 0, "second EXTERNAL user %s", username(conn));
    CHECK(sasl_getprop(conn, SASL_SSF_EXTERNAL, &value) == SASL_OK && value && *(const sasl_ssf_t *)value == 256,
          "SASL_SSF_EXTERNAL not reported back");
    CHECK(sasl_getprop(conn, SASL_AUTH_EXTERNAL, &value) == SASL_OK && value && strcmp(value, "cert-holder") == 0,
          "SASL_AUTH_EXTERNAL not reported back");
    if (sasl_getprop(conn, SASL_SSF, &value) == SASL_OK && value)
        printf("code external ssf %u\n", *(const sasl_ssf_t *)value);
    sasl_dispose(&conn);

    /* As itself, with and without an initial response. */
    conn = server(NULL, policy_cbs);
    CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cert-holder") == SASL_OK, "setprop auth external");
    r = external_start(conn, "");
    CHECK(r == SASL_OK && strcmp(username(conn), "cert-holder") == 0, "EXTERNAL: %d %s", r, username(conn));
    sasl_dispose(&conn);
    conn = server(NULL, policy_cbs);
    CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cert-holder") == SASL_OK, "setprop auth external");
    r = sasl_server_start(conn, "EXTERNAL", NULL, 0, &out, &outlen);
    CHECK(r == SASL_CONTINUE && outlen == 0, "EXTERNAL without initial response: %d", r);
    r = sasl_server_step(conn, "", 0, &out, &outlen);
    CHECK(r == SASL_OK && strcmp(username(conn), "cert-holder") == 0, "EXTERNAL step: %d %s", r, username(conn));
    sasl_dispose(&conn);

    /* Without a policy callback: Cyrus's default refuses another identity. */
    conn = server(NULL, NULL);
    CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cert-holder") == SASL_OK, "setprop auth external");
    r = external_start(conn, "fred");
    CHECK(r == SASL_BADAUTH, "EXTERNAL as fred without a policy: %d", r);
    sasl_dispose(&conn);

    /* An external identity "anonymous" under noanonymous. */
    conn = server(NULL, NULL);
    CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "anonymous") == SASL_OK, "setprop auth external");
    set_flags(conn, SASL_SEC_NOANONYMOUS);
    r = external_start(conn, "");
    CHECK(r == SASL_NOAUTHZ, "EXTERNAL as anonymous under noanonymous: %d", r);
    sasl_dispose(&conn);

    /* Flags: EXTERNAL meets nodictionary and noplaintext, PLAIN and ANONYMOUS do not. */
    conn = server(NULL, NULL);
    CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, "cert-holder") == SASL_OK, "setprop auth external");
    set_flags(conn, SASL_SEC_NODICTIONARY | SASL_SEC_NOPLAINTEXT);
    listed(conn, list, sizeof list);
    CHECK(strcmp(list, " EXTERNAL ") == 0, "nodictionary list: %s", list);
    sasl_dispose(&conn);
    printf("ok external-server\n");
}

static sasl_conn_t *client(const char *external, unsigned flags)
{
    sasl_conn_t *conn = NULL;
    int r = sasl_client_new("ldap", "ldap.example.org", NULL, NULL, client_cbs, 0, &conn);
    CHECK(r == SASL_OK, "client_new %d", r);
    if (external) CHECK(sasl_setprop(conn, SASL_AUTH_EXTERNAL, external) == SASL_OK, "client auth external");
    if (flags) set_flags(conn, flags);
    return conn;
}

static void external_client(void)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn = client(NULL, 0);
    int r;

    r = sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen, &mech);
    CHECK(r == SASL_NOMECH, "client EXTERNAL without SASL_AUTH_EXTERNAL: %d", r);
    sasl_dispose(&conn);

    conn = client("cert-holder", 0);
    client_user = "";
    r = sasl_client_start(conn, "PLAIN EXTERNAL", NULL, &out, &outlen, &mech);
    CHECK(r == SASL_OK && mech && strcmp(mech, "EXTERNAL") == 0 && outlen == 0,
          "client EXTERNAL: %d %s %u", r, mech ? mech : "(null)", outlen);
    sasl_dispose(&conn);

    conn = client("cert-holder", 0);
    client_user = "fred";
    r = sasl_client_start(conn, "EXTERNAL", NULL, &out, &outlen, &mech);
    CHECK(r == SASL_OK && outlen == 4 && memcmp(out, "fred", 4) == 0, "client EXTERNAL as fred: %d %u", r, outlen);
    client_user = "";
    sasl_dispose(&conn);
    printf("ok external-client\n");
}

static void anonymous_client(void)
{
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    sasl_conn_t *conn = client(NULL, 0);
    int r;

    r = sasl_client_start(conn, "ANONYMOUS", NULL, &out, &outlen, &mech);
    CHECK(r == SASL_OK && mech && strcmp(mech, "ANONYMOUS") == 0, "client ANONYMOUS: %d", r);
#ifdef CYRUS
    /* Cyrus sends the USER value (else "anonymous") and "@" and its host name. */
    CHECK(outlen > 10 && memcmp(out, "anonymous@", 10) == 0, "Cyrus's trace %.*s", (int)outlen, out);
#else
    /* Ours sends the AUTHNAME value, without the host name. */
    CHECK(outlen == 10 && memcmp(out, "trace-user", 10) == 0, "our trace %.*s", (int)outlen, out);
#endif
    sasl_dispose(&conn);

    conn = client(NULL, SASL_SEC_NOANONYMOUS);
    r = sasl_client_start(conn, "ANONYMOUS", NULL, &out, &outlen, &mech);
    CHECK(r == SASL_NOMECH, "client ANONYMOUS under noanonymous: %d", r);
    sasl_dispose(&conn);
    printf("ok anonymous-client\n");
}

/* A whole exchange of `list` between a fresh client and server; the server's result. */
static int pair(const char *list, const char *external, char *user, size_t size)
{
    sasl_conn_t *s = server(NULL, policy_cbs), *c = client(external, 0);
    const char *out = NULL, *sout = NULL, *mech = NULL;
    unsigned outlen = 0, soutlen = 0;
    int r, cr, steps = 0;

    if (external) CHECK(sasl_setprop(s, SASL_AUTH_EXTERNAL, external) == SASL_OK, "server auth external");
    cr = sasl_client_start(c, list, NULL, &out, &outlen, &mech);
    CHECK(cr == SASL_OK || cr == SASL_CONTINUE, "pair client_start %s: %d", list, cr);
    r = sasl_server_start(s, mech ? mech : "", out, outlen, &sout, &soutlen);
    while (r == SASL_CONTINUE && steps++ < 5) {
        cr = sasl_client_step(c, sout, soutlen, NULL, &out, &outlen);
        if (cr != SASL_OK && cr != SASL_CONTINUE) break;
        r = sasl_server_step(s, out, outlen, &sout, &soutlen);
    }
    snprintf(user, size, "%s", username(s));
    sasl_dispose(&c);
    sasl_dispose(&s);
    return r;
}

static void pairs(void)
{
    char user[256];
    int r = pair("ANONYMOUS", NULL, user, sizeof user);
    CHECK(r == SASL_OK && strcmp(user, "anonymous") == 0, "ANONYMOUS pair: %d %s", r, user);
    client_user = "fred";
    r = pair("EXTERNAL", "cert-holder", user, sizeof user);
    CHECK(r == SASL_OK && strcmp(user, "fred") == 0, "EXTERNAL pair: %d %s", r, user);
    client_user = "";
    printf("ok pairs\n");
}

int main(void)
{
    CHECK(sasl_server_init(global_cbs, "puresasl-anon-external") == SASL_OK, "server_init");
    CHECK(sasl_client_init(NULL) == SASL_OK, "client_init");
    anonymous();
    external_server();
    external_client();
    anonymous_client();
    pairs();
    sasl_done();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("ok all\n");
    return 0;
}
