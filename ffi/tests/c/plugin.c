/* An application plug-in of our own, compiled against Cyrus's headers (-DCYRUS) or ours: an
 * auxprop plug-in that holds one user, and a canon_user plug-in that lower-cases names. Their
 * init functions exercise every sasl_utils_t entry that needs no connection, the lookup the
 * ones that do; then PLAIN exchanges check that the library asks them as Cyrus does. Prints
 * "ok <item>" per check and "ok all" at the end; any failure exits non-zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

/* The library's utilities (Cyrus's header does not declare the data object). */
extern const sasl_utils_t *sasl_global_utils;

static int failures;
#define CHECK(cond, name)                                                    \
    do {                                                                     \
        if (cond) printf("ok %s\n", name);                                   \
        else { printf("FAIL %s (line %d)\n", name, __LINE__); failures++; }  \
    } while (0)

/* The application's allocator and mutexes (sasl_set_alloc, sasl_set_mutex): plug-ins get
 * them through sasl_utils_t. */
static int app_mallocs, app_frees, app_locks;
static void *app_malloc(size_t n) { app_mallocs++; return malloc(n); }
static void *app_calloc(size_t c, size_t n) { app_mallocs++; return calloc(c, n); }
static void *app_realloc(void *p, size_t n) { if (!p) app_mallocs++; return realloc(p, n); }
static void app_free(void *p) { if (p) app_frees++; free(p); }
static int mutex_storage;
static void *app_mutex_alloc(void) { return &mutex_storage; }
static int app_mutex_lock(void *m) { (void)m; app_locks++; return SASL_OK; }
static int app_mutex_unlock(void *m) { (void)m; return SASL_OK; }
static void app_mutex_free(void *m) { (void)m; }

static char logged[4096];
static int log_cb(void *ctx, int level, const char *message)
{
    (void)ctx; (void)level;
    if (strlen(logged) + strlen(message) + 2 < sizeof logged) {
        strcat(logged, message);
        strcat(logged, "\n");
    }
    return SASL_OK;
}

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result,
                     unsigned *len)
{
    (void)ctx; (void)plugin;
    const char *value = NULL;
    if (!strcmp(option, "auxprop_plugin")) value = "testaux";
    else if (!strcmp(option, "canon_user_plugin")) value = "testcanon";
    else if (!strcmp(option, "pwcheck_method")) value = "auxprop";
    else if (!strcmp(option, "mech_list")) value = "PLAIN";
    else if (!strcmp(option, "testaux_secret")) value = "s3cret";
    if (!value) return SASL_FAIL;
    *result = value;
    if (len) *len = (unsigned)strlen(value);
    return SASL_OK;
}

static sasl_callback_t callbacks[] = {
    {SASL_CB_LOG, (sasl_callback_ft)log_cb, NULL},
    {SASL_CB_GETOPT, (sasl_callback_ft)getopt_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static void hex(const unsigned char *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* Every entry that needs no connection, through the global utilities. */
static void exercise(const sasl_utils_t *u)
{
    char text[64];
    unsigned char digest[16];
    CHECK(u->conn == NULL, "global utils have no connection");

    int mallocs = app_mallocs, frees = app_frees;
    char *p = u->malloc(16);
    char *q = u->calloc(4, 4);
    CHECK(p && q && q[0] == 0 && q[15] == 0, "malloc calloc");
    p = u->realloc(p, 64);
    CHECK(p != NULL, "realloc");
    u->free(p);
    u->free(q);
    CHECK(app_mallocs - mallocs == 2 && app_frees - frees == 2,
          "the application's allocator (sasl_set_alloc)");

    int locks = app_locks;
    void *m = u->mutex_alloc();
    CHECK(m && u->mutex_lock(m) == SASL_OK && u->mutex_unlock(m) == SASL_OK, "mutex");
    u->mutex_free(m);
    CHECK(m == &mutex_storage && app_locks - locks == 1,
          "the application's mutexes (sasl_set_mutex)");

    MD5_CTX md5;
    u->MD5Init(&md5);
    u->MD5Update(&md5, (const unsigned char *)"ab", 2);
    u->MD5Update(&md5, (const unsigned char *)"c", 1);
    u->MD5Final(digest, &md5);
    hex(digest, 16, text);
    CHECK(!strcmp(text, "900150983cd24fb0d6963f7d28e17f72"), "MD5");

    const unsigned char *msg = (const unsigned char *)"what do ya want for nothing?";
    u->hmac_md5(msg, 28, (const unsigned char *)"Jefe", 4, digest);
    hex(digest, 16, text);
    CHECK(!strcmp(text, "750c783e6ab0b503eaa86e310a5db738"), "hmac_md5");
    HMAC_MD5_CTX hmac;
    u->hmac_md5_init(&hmac, (const unsigned char *)"Jefe", 4);
    u->MD5Update(&hmac.ictx, msg, 28);
    u->hmac_md5_final(digest, &hmac);
    hex(digest, 16, text);
    CHECK(!strcmp(text, "750c783e6ab0b503eaa86e310a5db738"), "hmac_md5_init/final");
    HMAC_MD5_STATE state;
    u->hmac_md5_precalc(&state, (const unsigned char *)"Jefe", 4);
    u->hmac_md5_import(&hmac, &state);
    u->MD5Update(&hmac.ictx, msg, 28);
    u->hmac_md5_final(digest, &hmac);
    hex(digest, 16, text);
    CHECK(!strcmp(text, "750c783e6ab0b503eaa86e310a5db738"), "hmac_md5_precalc/import");

    CHECK(u->utf8verify("caf\xc3\xa9", 5) == SASL_OK && u->utf8verify("\xff", 1) != SASL_OK,
          "utf8verify");
    char r1[16] = {0}, r2[16] = {0};
    u->rand(u->rpool, r1, sizeof r1);
    u->churn(u->rpool, "x", 1);
    u->rand(u->rpool, r2, sizeof r2);
    CHECK(memcmp(r1, r2, sizeof r1) != 0, "rand churn");

    unsigned len = 0;
    char b64[32], plain[32];
    CHECK(u->encode64("hello", 5, b64, sizeof b64, &len) == SASL_OK && !strcmp(b64, "aGVsbG8="),
          "encode64");
    CHECK(u->decode64(b64, len, plain, sizeof plain, &len) == SASL_OK && len == 5 &&
              !memcmp(plain, "hello", 5), "decode64");
    u->erasebuffer(plain, 5);
    CHECK(plain[0] == 0 && plain[4] == 0, "erasebuffer");

    struct propctx *ctx = u->prop_new(0), *copy = NULL;
    const char *names[] = {"a", "b", NULL};
    CHECK(ctx && u->prop_request(ctx, names) == SASL_OK, "prop_new prop_request");
    CHECK(u->prop_set(ctx, "a", "one", 3) == SASL_OK, "prop_set");
    const char *vals[] = {"x", "y", NULL};
    CHECK(u->prop_setvals(ctx, "b", vals) == SASL_OK, "prop_setvals");
    const struct propval *pv = u->prop_get(ctx);
    CHECK(pv && pv[0].name && !strcmp(pv[0].values[0], "one") && pv[1].nvalues == 2, "prop_get");
    struct propval got[2];
    CHECK(u->prop_getnames(ctx, names, got) == 2 && !strcmp(got[1].values[1], "y"),
          "prop_getnames");
    char formatted[16];
    CHECK(u->prop_format(ctx, ",", 1, formatted, sizeof formatted, &len) == SASL_OK &&
              !strcmp(formatted, "a,b"), "prop_format");
    /* Binary values (NUL bytes inside) are kept whole, as slapd's canon_user callback stores
     * a Connection pointer in "*slapConn" and its auxprop plug-in reads it back. */
    const char *binary_names[] = {"*bin", NULL};
    const char pointer[8] = {0x27, 0x00, 0x6b, 0x52, 0x80, 0x55, 0x00, 0x00};
    CHECK(u->prop_request(ctx, binary_names) == SASL_OK &&
              u->prop_set(ctx, "*bin", pointer, sizeof pointer) == SASL_OK, "prop_set binary");
    struct propval bin[1];
    CHECK(u->prop_getnames(ctx, binary_names, bin) == 1 && bin[0].values &&
              !memcmp(bin[0].values[0], pointer, sizeof pointer) && bin[0].values[0][8] == 0,
          "binary value kept whole");
    CHECK(u->prop_dup(ctx, &copy) == SASL_OK && copy, "prop_dup");
    u->prop_erase(ctx, "a");
    pv = u->prop_get(ctx);
    CHECK(pv[0].values == NULL, "prop_erase");
    u->prop_clear(ctx, 1);
    u->prop_dispose(&ctx);
    u->prop_dispose(&copy);
    CHECK(ctx == NULL && copy == NULL, "prop_clear prop_dispose");

    const char *value = NULL;
    CHECK(u->getopt(u->getopt_context, "testaux", "testaux_secret", &value, &len) == SASL_OK &&
              value && !strcmp(value, "s3cret") && len == 6, "getopt");
    sasl_callback_ft proc = NULL;
    void *pctx = NULL;
    CHECK(u->getcallback(NULL, SASL_CB_GETOPT, &proc, &pctx) == SASL_OK && proc != NULL,
          "getcallback GETOPT");
}

/* ---- the auxprop plug-in ---- */

static int lookups, authzid_lookups;
static const sasl_utils_t *global_utils;

static int testaux_lookup(void *glob, sasl_server_params_t *sparams, unsigned flags,
                          const char *user, unsigned ulen)
{
    (void)glob;
    const sasl_utils_t *u = sparams->utils;
    if (flags & SASL_AUXPROP_AUTHZID) {
        authzid_lookups++;
        /* A directory that is down for this name. */
        if (ulen == 4 && strncmp(user, "down", 4) == 0) return SASL_FAIL;
        /* Authorization-id properties are the requested names without '*'. */
        if (ulen != 5 || strncmp(user, "alice", 5) != 0) return SASL_NOUSER;
        const struct propval *pv = u->prop_get(sparams->propctx);
        for (; pv && pv->name; pv++)
            if (!strcmp(pv->name, "mail") && !pv->values)
                u->prop_set(sparams->propctx, pv->name, "alice@authz.example", 0);
        return SASL_OK;
    }
    lookups++;
    if (u->conn == NULL || sparams->propctx == NULL || strcmp(sparams->service, "test") != 0)
        return SASL_FAIL;
    const void *service = NULL;
    if (u->getprop(u->conn, SASL_SERVICE, &service) != SASL_OK || strcmp(service, "test") != 0)
        return SASL_FAIL;
    char chal[128];
    if (u->mkchal(u->conn, chal, sizeof chal, 1) == 0)
        return SASL_FAIL;
    if (lookups == 1) {
        /* The connection's utilities see the application's callbacks. */
        sasl_callback_ft proc = NULL;
        void *pctx = NULL;
        CHECK(u->getcallback(u->conn, SASL_CB_LOG, &proc, &pctx) == SASL_OK &&
                  proc == (sasl_callback_ft)log_cb, "getcallback LOG");
        logged[0] = '\0';
        /* %z is Cyrus's: the text of a SASL result code. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
        u->log(u->conn, SASL_LOG_ERR, "testaux log %d %s %z", 42, "text", SASL_NOUSER);
#pragma GCC diagnostic pop
        CHECK(strstr(logged, "testaux log 42 text user not found") != NULL, "log with %z");
        u->seterror(u->conn, SASL_NOLOG, "testaux detail %d", 7);
        CHECK(strstr(sasl_errdetail(u->conn), "testaux detail 7") != NULL, "seterror");
    }
    if (ulen != 5 || strncmp(user, "alice", 5) != 0)
        return SASL_NOUSER;
    const char *secret = NULL;
    unsigned len = 0;
    if (u->getopt(u->getopt_context, "testaux", "testaux_secret", &secret, &len) != SASL_OK)
        return SASL_FAIL;
    /* Authentication-id properties are the requested names with a leading '*'. */
    const struct propval *pv = u->prop_get(sparams->propctx);
    for (; pv && pv->name; pv++) {
        if (pv->name[0] != '*') continue;
        if (!strcmp(pv->name + 1, "userPassword"))
            u->prop_set(sparams->propctx, pv->name, secret, (int)len);
        if (!strcmp(pv->name + 1, "mail") && !pv->values)
            u->prop_set(sparams->propctx, pv->name, "alice@authn.example", 0);
    }
    return SASL_OK;
}

static int testaux_store(void *glob, sasl_server_params_t *sparams, struct propctx *ctx,
                         const char *user, unsigned ulen)
{
    (void)glob; (void)sparams; (void)ctx; (void)user; (void)ulen;
    return SASL_OK;
}

static sasl_auxprop_plug_t testaux = {
    0, 0, NULL, NULL, testaux_lookup, "testaux", testaux_store,
};

static int testaux_init(const sasl_utils_t *utils, int max_version, int *out_version,
                        sasl_auxprop_plug_t **plug, const char *plugname)
{
    (void)plugname;
    if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
    global_utils = utils;
    exercise(utils);
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &testaux;
    return SASL_OK;
}

static int old_init(const sasl_utils_t *utils, int max_version, int *out_version,
                    sasl_auxprop_plug_t **plug, const char *plugname)
{
    (void)utils; (void)max_version; (void)plugname;
    *out_version = 4; /* older than the library's */
    *plug = &testaux;
    return SASL_OK;
}

static int failing_init(const sasl_utils_t *utils, int max_version, int *out_version,
                        sasl_auxprop_plug_t **plug, const char *plugname)
{
    (void)utils; (void)max_version; (void)out_version; (void)plug; (void)plugname;
    return SASL_NOMEM;
}

/* ---- the canon_user plug-in ---- */

static int canon_calls;
static int testcanon_server(void *glob, sasl_server_params_t *sparams, const char *user,
                            unsigned len, unsigned flags, char *out, unsigned out_max,
                            unsigned *out_len)
{
    (void)glob; (void)sparams; (void)flags;
    canon_calls++;
    if (len >= out_max) return SASL_BUFOVER;
    for (unsigned i = 0; i < len; i++) out[i] = (char)tolower((unsigned char)user[i]);
    out[len] = '\0';
    *out_len = len;
    return SASL_OK;
}

/* The client side appends "+plug", so the test sees that it ran after the application's
 * callback. */
static int client_canon_calls;
static int testcanon_client(void *glob, sasl_client_params_t *cparams, const char *user,
                            unsigned len, unsigned flags, char *out, unsigned out_max,
                            unsigned *out_len)
{
    (void)glob; (void)flags;
    if (!cparams || !cparams->utils) return SASL_BADPARAM;
    client_canon_calls++;
    if (len + 5 >= out_max) return SASL_BUFOVER;
    memmove(out, user, len);
    memcpy(out + len, "+plug", 5);
    out[len + 5] = '\0';
    *out_len = len + 5;
    return SASL_OK;
}

static sasl_canonuser_plug_t testcanon = {
    0, 0, NULL, "testcanon", NULL, testcanon_server, testcanon_client, NULL, NULL, NULL,
};

static int testcanon_init(const sasl_utils_t *utils, int max_version, int *out_version,
                          sasl_canonuser_plug_t **plug, const char *plugname)
{
    (void)utils; (void)plugname;
    if (max_version < SASL_CANONUSER_PLUG_VERSION) return SASL_BADVERS;
    *out_version = SASL_CANONUSER_PLUG_VERSION;
    *plug = &testcanon;
    return SASL_OK;
}

/* The properties the application asked for, read after the last successful login. */
static char authn_mail[64], authz_mail[64];

/* A PLAIN login as `user` (acting as `authzid` when it is not empty). */
static int login_as(const char *authzid, const char *user, const char *pass)
{
    sasl_conn_t *conn = NULL;
    char in[96];
    size_t zl = strlen(authzid), ul = strlen(user), pl = strlen(pass);
    memcpy(in, authzid, zl);
    in[zl] = '\0';
    memcpy(in + zl + 1, user, ul);
    in[zl + 1 + ul] = '\0';
    memcpy(in + zl + 2 + ul, pass, pl);
    const char *out;
    unsigned outlen;
    if (sasl_server_new("test", "localhost", NULL, NULL, NULL, NULL, 0, &conn) != SASL_OK)
        return -1000;
    /* As slapd and Cyrus's sample server ask: one authentication-id property ('*'), one
     * authorization-id property. */
    const char *wanted[] = {"*mail", "mail", NULL};
    if (sasl_auxprop_request(conn, wanted) != SASL_OK) return -3000;
    int r = sasl_server_start(conn, "PLAIN", in, (unsigned)(zl + 2 + ul + pl), &out, &outlen);
    if (r == SASL_OK) {
        const void *name = NULL;
        sasl_getprop(conn, SASL_USERNAME, &name);
        if (!name || strcmp(name, "alice") != 0) r = -2000;
        struct propval got[2];
        struct propctx *ctx = sasl_auxprop_getctx(conn);
        authn_mail[0] = authz_mail[0] = '\0';
        if (ctx && prop_getnames(ctx, wanted, got) >= 0) {
            if (got[0].values && got[0].values[0])
                snprintf(authn_mail, sizeof authn_mail, "%s", got[0].values[0]);
            if (got[1].values && got[1].values[0])
                snprintf(authz_mail, sizeof authz_mail, "%s", got[1].values[0]);
        }
    }
    sasl_dispose(&conn);
    return r;
}

static int login(const char *user, const char *pass)
{
    return login_as("", user, pass);
}

/* ---- an auxprop plug-in that cannot store ---- */

static int nostore_lookup(void *glob, sasl_server_params_t *sparams, unsigned flags,
                          const char *user, unsigned ulen)
{
    (void)glob; (void)sparams; (void)flags; (void)user; (void)ulen;
    return SASL_NOUSER;
}

static sasl_auxprop_plug_t nostore = {0, 0, NULL, NULL, nostore_lookup, "nostore", NULL};

static int nostore_init(const sasl_utils_t *utils, int max_version, int *out_version,
                        sasl_auxprop_plug_t **plug, const char *plugname)
{
    (void)utils; (void)plugname;
    if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &nostore;
    return SASL_OK;
}

static int nostore_getopt(void *ctx, const char *plugin, const char *option,
                          const char **result, unsigned *len)
{
    if (!strcmp(option, "auxprop_plugin")) {
        *result = "nostore";
        if (len) *len = 7;
        return SASL_OK;
    }
    return getopt_cb(ctx, plugin, option, result, len);
}

/* sasl_setpass when the only store named is a plug-in without a store function: nothing
 * keeps the password, yet Cyrus returns SASL_OK (its sasl_auxprop_store counts the plug-in)
 * and logs "setpass succeeded"; ours returns the same and logs that nothing was stored. */
static void check_setpass_without_store(void)
{
    sasl_callback_t cbs[] = {
        {SASL_CB_GETOPT, (sasl_callback_ft)nostore_getopt, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *conn = NULL;
    CHECK(sasl_server_new("test", "localhost", NULL, NULL, NULL, cbs, 0, &conn) == SASL_OK,
          "server new with auxprop_plugin: nostore");
    logged[0] = '\0';
    int r = sasl_setpass(conn, "carol", "pw", 2, NULL, 0, SASL_SET_CREATE);
    CHECK(r == SASL_OK, "setpass with no plug-in that can store: Cyrus's code");
#ifndef CYRUS
    CHECK(strstr(logged, "password of carol was not stored") != NULL, "and ours logs why");
#endif
    sasl_dispose(&conn);
}

/* ---- the client side: the application's CANON_USER callback, then the plug-in ---- */

static int client_app_canon(sasl_conn_t *conn, void *context, const char *in, unsigned inlen,
                            unsigned flags, const char *user_realm, char *out, unsigned out_max,
                            unsigned *out_len)
{
    (void)conn; (void)context; (void)flags;
    if (user_realm != NULL) return SASL_BADPARAM; /* clients have none */
    if (inlen + 4 >= out_max) return SASL_BUFOVER;
    memmove(out, in, inlen);
    memcpy(out + inlen, "-app", 4);
    out[inlen + 4] = '\0';
    *out_len = inlen + 4;
    return SASL_OK;
}

static int client_authname(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx; (void)id;
    *result = "alice";
    if (len) *len = 5;
    return SASL_OK;
}

static int client_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static struct { unsigned long len; unsigned char data[8]; } secret = {6, "s3cret"};
    (void)conn; (void)ctx; (void)id;
    *psecret = (sasl_secret_t *)&secret;
    return SASL_OK;
}

static void check_client_canon(void)
{
    sasl_callback_t cbs[] = {
        {SASL_CB_GETOPT, (sasl_callback_ft)getopt_cb, NULL},
        {SASL_CB_CANON_USER, (sasl_callback_ft)client_app_canon, NULL},
        {SASL_CB_AUTHNAME, (sasl_callback_ft)client_authname, NULL},
        {SASL_CB_PASS, (sasl_callback_ft)client_pass, NULL},
        {SASL_CB_LIST_END, NULL, NULL},
    };
    sasl_conn_t *client = NULL;
    CHECK(sasl_client_new("test", "localhost", NULL, NULL, cbs, 0, &client) == SASL_OK,
          "client new");
    const char *out = NULL, *chosen = NULL;
    unsigned outlen = 0;
    sasl_interact_t *prompts = NULL;
    int r = sasl_client_start(client, "PLAIN", &prompts, &out, &outlen, &chosen);
    CHECK(r == SASL_OK || r == SASL_CONTINUE, "client PLAIN start");
    /* Cyrus's PLAIN sends the canonical authentication id (and reports it). */
    CHECK(out && outlen == 22 && !memcmp(out, "\0alice-app+plug\0s3cret", 22),
          "client sends the canonical names");
    const void *name = NULL;
    r = sasl_getprop(client, SASL_USERNAME, &name);
    CHECK(r == SASL_OK && name && !strcmp(name, "alice-app+plug"),
          "client canonicalisation: the application's callback, then the plug-in");
    sasl_dispose(&client);
}

int main(void)
{
    sasl_set_alloc(app_malloc, app_calloc, app_realloc, app_free);
    sasl_set_mutex(app_mutex_alloc, app_mutex_lock, app_mutex_unlock, app_mutex_free);
    CHECK(sasl_auxprop_add_plugin("old", old_init) == SASL_BADVERS, "older plug-in refused");
    CHECK(sasl_auxprop_add_plugin("failing", failing_init) == SASL_NOMEM,
          "failing init's code returned");
    if (sasl_server_init(callbacks, "plugintest") != SASL_OK) {
        printf("FAIL sasl_server_init\n");
        return 1;
    }
    CHECK(sasl_global_utils != NULL, "sasl_global_utils");
    CHECK(sasl_auxprop_add_plugin("testaux", testaux_init) == SASL_OK, "auxprop add");
    CHECK(global_utils == sasl_global_utils, "init gets sasl_global_utils");
    CHECK(sasl_canonuser_add_plugin("testcanon", testcanon_init) == SASL_OK, "canonuser add");

    lookups = authzid_lookups = 0;
    CHECK(login("alice", "s3cret") == SASL_OK && lookups > 0, "PLAIN through the plug-in");
    /* Each plug-in is asked for all properties at once, for the authentication id, then for
     * the authorization id (SASL_AUXPROP_AUTHZID) before the proxy policy; the application's
     * requested properties are filled for both. Cyrus asks twice for each (canonicalisation,
     * then the password check), ours once: never once per property. */
    printf("lookups per login: %d authentication id, %d authorization id\n", lookups,
           authzid_lookups);
    CHECK(lookups >= 1 && lookups <= 2, "one or two authentication-id lookups per login");
    CHECK(authzid_lookups >= 1 && authzid_lookups <= 2,
          "one or two authorization-id lookups per login");
    CHECK(!strcmp(authn_mail, "alice@authn.example"), "authentication-id property");
    CHECK(!strcmp(authz_mail, "alice@authz.example"), "authorization-id property");
    int r = login("alice", "wrong");
    CHECK(r == SASL_BADAUTH, "wrong password");
    canon_calls = 0;
    CHECK(login("ALICE", "s3cret") == SASL_OK && canon_calls > 0,
          "canon_user plug-in lower-cases");
    r = login("bob", "s3cret");
    CHECK(r == SASL_NOUSER, "unknown user");
    r = login_as("down", "alice", "s3cret");
    CHECK(r == SASL_FAIL, "a failing authorization-id lookup is a temporary failure");

    CHECK(sasl_auxprop_add_plugin("nostore", nostore_init) == SASL_OK, "auxprop add nostore");
    check_setpass_without_store();

    if (sasl_client_init(callbacks) != SASL_OK) {
        printf("FAIL sasl_client_init\n");
        return 1;
    }
    check_client_canon();

    sasl_done();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("ok all\n");
    return 0;
}
