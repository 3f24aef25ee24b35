/* A server mechanism plug-in of our own, loaded as a Cyrus plug-in module from $SASL_PATH,
 * and the program that drives it, on our library and on Cyrus's (issue 12).
 *
 * Built with -DMODULE (as libxpureplug.so): the mechanism X-PUREPLUG. The client sends
 * "authid NUL password" (client first); the server canonicalises the authid through
 * sparams->canon_user, which also fills the requested "*userPassword" from the auxprop
 * plug-ins, compares, and installs a security layer of strength 1 that XORs every byte with
 * 0x2a (maxoutbuf 1024).
 *
 * Built without it: the driver. It registers an auxprop plug-in holding alice's password,
 * then checks listing, start with and without an initial response, the properties, the
 * layer through sasl_encode/sasl_decode, a wrong password and filtering by min_ssf. Prints
 * "ok <item>" per check and "ok all" at the end. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#ifdef MODULE

typedef struct {
    const sasl_utils_t *utils;
    char *buffer;
    unsigned size;
} layer_t;

static int xor_into(layer_t *l, const char *in, unsigned len, const char **out, unsigned *outlen)
{
    if (len > l->size) {
        char *grown = l->utils->realloc(l->buffer, len);
        if (!grown) return SASL_NOMEM;
        l->buffer = grown;
        l->size = len;
    }
    for (unsigned i = 0; i < len; i++) l->buffer[i] = (char)(in[i] ^ 0x2a);
    *out = l->buffer;
    *outlen = len;
    return SASL_OK;
}

static int layer_encode(void *context, const struct iovec *invec, unsigned numiov,
                        const char **output, unsigned *outputlen)
{
    if (numiov != 1) return SASL_BADPARAM;
    return xor_into(context, invec[0].iov_base, (unsigned)invec[0].iov_len, output, outputlen);
}

static int layer_decode(void *context, const char *input, unsigned inputlen,
                        const char **output, unsigned *outputlen)
{
    return xor_into(context, input, inputlen, output, outputlen);
}

static int mech_new(void *glob, sasl_server_params_t *sparams, const char *challenge,
                    unsigned challen, void **conn_context)
{
    (void)glob; (void)challenge; (void)challen;
    /* Counted, so the driver sees when a context from mech_avail stands in for it. */
    const char *calls = getenv("XPUREPLUG_NEW");
    char count[16];
    snprintf(count, sizeof count, "%d", (calls ? atoi(calls) : 0) + 1);
    setenv("XPUREPLUG_NEW", count, 1);
    layer_t *l = sparams->utils->malloc(sizeof *l);
    if (!l) return SASL_NOMEM;
    l->utils = sparams->utils;
    l->buffer = NULL;
    l->size = 0;
    *conn_context = l;
    return SASL_OK;
}

static int mech_step(void *conn_context, sasl_server_params_t *sparams, const char *clientin,
                     unsigned clientinlen, const char **serverout, unsigned *serveroutlen,
                     sasl_out_params_t *oparams)
{
    const sasl_utils_t *u = sparams->utils;
    const char *names[] = {"*userPassword", NULL};
    struct propval pv[1];
    *serverout = NULL;
    *serveroutlen = 0;
    const char *nul = clientin ? memchr(clientin, '\0', clientinlen) : NULL;
    if (!nul) {
        u->seterror(u->conn, 0, "X-PUREPLUG: no NUL in the client's message");
        return SASL_BADPROT;
    }
    unsigned idlen = (unsigned)(nul - clientin);
    const char *pass = nul + 1;
    unsigned passlen = clientinlen - idlen - 1;
    u->prop_request(sparams->propctx, names);
    int r = sparams->canon_user(u->conn, clientin, idlen, SASL_CU_AUTHID | SASL_CU_AUTHZID,
                                oparams);
    if (r != SASL_OK) return r;
    if (u->prop_getnames(sparams->propctx, names, pv) < 1 || !pv[0].values ||
        strlen(pv[0].values[0]) != passlen || memcmp(pv[0].values[0], pass, passlen) != 0) {
        u->seterror(u->conn, 0, "X-PUREPLUG: wrong password");
        return SASL_BADAUTH;
    }
    oparams->doneflag = 1;
    oparams->mech_ssf = 1;
    oparams->maxoutbuf = 1024;
    /* The layer functions get the mechanism's context (Cyrus passes its conn_context, not
     * the *_context fields, which stay NULL here as in Cyrus's own plug-ins). */
    (void)conn_context;
    oparams->encode = layer_encode;
    oparams->decode = layer_decode;
    oparams->param_version = 0;
    return SASL_OK;
}

static void mech_dispose(void *conn_context, const sasl_utils_t *utils)
{
    layer_t *l = conn_context;
    if (!l) return;
    utils->free(l->buffer);
    utils->free(l);
}

/* What the library asks besides exchanges; each leaves a mark in the environment (the
 * driver is the same process). */
static int mech_setpass(void *glob, sasl_server_params_t *sparams, const char *user,
                        const char *pass, unsigned passlen, const char *oldpass,
                        unsigned oldpasslen, unsigned flags)
{
    (void)glob; (void)sparams; (void)pass; (void)oldpass; (void)oldpasslen; (void)flags;
    char mark[64];
    snprintf(mark, sizeof mark, "%s:%u", user, passlen);
    setenv("XPUREPLUG_SETPASS", mark, 1);
    return SASL_OK;
}

static int mech_idle(void *glob, void *conn, sasl_server_params_t *sparams)
{
    (void)glob;
    if (!conn || !sparams || strcmp(sparams->service, "test") != 0) return 0;
    setenv("XPUREPLUG_IDLE", "server", 1);
    return 1;
}

/* Not available to the service "unavail"; for the service "availctx" it makes the
 * connection context itself (Cyrus then skips mech_new and disposes an unused one with the
 * connection). */
static int mech_avail(void *glob, sasl_server_params_t *sparams, void **conn_context)
{
    (void)glob;
    if (strcmp(sparams->service, "unavail") == 0) return SASL_FAIL;
    if (strcmp(sparams->service, "availctx") == 0 && *conn_context == NULL) {
        layer_t *l = sparams->utils->malloc(sizeof *l);
        if (!l) return SASL_NOMEM;
        l->utils = sparams->utils;
        l->buffer = NULL;
        l->size = 0;
        *conn_context = l;
    }
    return SASL_OK;
}

static sasl_server_plug_t plugins[] = {{
    "X-PUREPLUG", 1, SASL_SEC_NOANONYMOUS, SASL_FEAT_WANT_CLIENT_FIRST, NULL,
    mech_new, mech_step, mech_dispose, NULL, mech_setpass, NULL, mech_idle, mech_avail, NULL,
}};

/* The client side: "authid NUL password" from the AUTHNAME and PASS callbacks, the same
 * layer. */
static int client_new(void *glob, sasl_client_params_t *cparams, void **conn_context)
{
    (void)glob;
    layer_t *l = cparams->utils->malloc(sizeof *l);
    if (!l) return SASL_NOMEM;
    l->utils = cparams->utils;
    l->buffer = NULL;
    l->size = 0;
    *conn_context = l;
    return SASL_OK;
}

static int client_step(void *conn_context, sasl_client_params_t *cparams, const char *serverin,
                       unsigned serverinlen, sasl_interact_t **prompt_need,
                       const char **clientout, unsigned *clientoutlen,
                       sasl_out_params_t *oparams)
{
    const sasl_utils_t *u = cparams->utils;
    layer_t *l = conn_context;
    sasl_getsimple_t *simple = NULL;
    sasl_getsecret_t *secret_cb = NULL;
    void *ctx = NULL, *pctx = NULL;
    const char *name = NULL;
    unsigned namelen = 0;
    sasl_secret_t *secret = NULL;
    (void)serverin; (void)serverinlen; (void)prompt_need;
    if (u->getcallback(u->conn, SASL_CB_AUTHNAME, (sasl_callback_ft *)&simple, &ctx) != SASL_OK ||
        !simple || simple(ctx, SASL_CB_AUTHNAME, &name, &namelen) != SASL_OK || !name)
        return SASL_BADPARAM;
    if (!namelen) namelen = (unsigned)strlen(name);
    if (u->getcallback(u->conn, SASL_CB_PASS, (sasl_callback_ft *)&secret_cb, &pctx) != SASL_OK ||
        !secret_cb || secret_cb(u->conn, pctx, SASL_CB_PASS, &secret) != SASL_OK || !secret)
        return SASL_BADPARAM;
    int r = cparams->canon_user(u->conn, name, namelen, SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
    if (r != SASL_OK) return r;
    unsigned len = namelen + 1 + (unsigned)secret->len;
    char *buf = u->realloc(l->buffer, len);
    if (!buf) return SASL_NOMEM;
    l->buffer = buf;
    l->size = len;
    memcpy(buf, name, namelen);
    buf[namelen] = '\0';
    memcpy(buf + namelen + 1, secret->data, secret->len);
    *clientout = buf;
    *clientoutlen = len;
    oparams->doneflag = 1;
    oparams->mech_ssf = 1;
    oparams->maxoutbuf = 1024;
    oparams->encode = layer_encode;
    oparams->decode = layer_decode;
    return SASL_OK;
}

static sasl_client_plug_t client_plugins[] = {{
    "X-PUREPLUG", 1, SASL_SEC_NOANONYMOUS, SASL_FEAT_WANT_CLIENT_FIRST, NULL, NULL,
    client_new, client_step, mech_dispose, NULL, NULL, NULL, NULL,
}};

int sasl_client_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount);
int sasl_client_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount)
{
    (void)utils;
    if (maxversion < SASL_CLIENT_PLUG_VERSION) return SASL_BADVERS;
    *out_version = SASL_CLIENT_PLUG_VERSION;
    *pluglist = client_plugins;
    *plugcount = 1;
    return SASL_OK;
}

int sasl_server_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_server_plug_t **pluglist, int *plugcount);
int sasl_server_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_server_plug_t **pluglist, int *plugcount)
{
    (void)utils;
    if (maxversion < SASL_SERVER_PLUG_VERSION) return SASL_BADVERS;
    *out_version = SASL_SERVER_PLUG_VERSION;
    *pluglist = plugins;
    *plugcount = 1;
    return SASL_OK;
}

#else /* the driver */

static int failures;
#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (cond) { printf("ok "); printf(__VA_ARGS__); printf("\n"); }                  \
        else { printf("FAIL line %d: ", __LINE__); printf(__VA_ARGS__); printf("\n");    \
               failures++; }                                                             \
    } while (0)

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result,
                     unsigned *len)
{
    (void)ctx; (void)plugin;
    const char *value = NULL;
    if (!strcmp(option, "auxprop_plugin")) value = "drvaux";
    if (!strcmp(option, "plugin_modules") && getenv("NO_MODULES")) value = "no";
    if (!value) return SASL_FAIL;
    *result = value;
    if (len) *len = (unsigned)strlen(value);
    return SASL_OK;
}

static sasl_callback_t callbacks[] = {
    {SASL_CB_GETOPT, (sasl_callback_ft)getopt_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int authname_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx; (void)id;
    *result = "alice";
    if (len) *len = 5;
    return SASL_OK;
}

static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    static struct { unsigned long len; unsigned char data[8]; } secret = {6, "s3cret"};
    (void)conn; (void)ctx; (void)id;
    *psecret = (sasl_secret_t *)&secret;
    return SASL_OK;
}

static sasl_callback_t client_callbacks[] = {
    {SASL_CB_GETOPT, (sasl_callback_ft)getopt_cb, NULL},
    {SASL_CB_AUTHNAME, (sasl_callback_ft)authname_cb, NULL},
    {SASL_CB_PASS, (sasl_callback_ft)pass_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int authzid_lookups, stores, password_stores, deletes;

static int drvaux_lookup(void *glob, sasl_server_params_t *sparams, unsigned flags,
                         const char *user, unsigned ulen)
{
    (void)glob;
    if (flags & SASL_AUXPROP_AUTHZID) {
        /* Authorization-id properties are the requested names without '*'. */
        authzid_lookups++;
        if (ulen != 5 || strncmp(user, "alice", 5) != 0) return SASL_NOUSER;
        const struct propval *pv = sparams->utils->prop_get(sparams->propctx);
        for (; pv && pv->name; pv++)
            if (!strcmp(pv->name, "mail") && !pv->values)
                sparams->utils->prop_set(sparams->propctx, pv->name, "alice@example.org", -1);
        return SASL_OK;
    }
    if (ulen != 5 || strncmp(user, "alice", 5) != 0) return SASL_NOUSER;
    const struct propval *pv = sparams->utils->prop_get(sparams->propctx);
    for (; pv && pv->name; pv++)
        if (!strcmp(pv->name, "*userPassword") && !pv->values)
            sparams->utils->prop_set(sparams->propctx, pv->name, "s3cret", 6);
    return SASL_OK;
}

static int drvaux_store(void *glob, sasl_server_params_t *sparams, struct propctx *ctx,
                        const char *user, unsigned ulen)
{
    (void)glob; (void)sparams;
    if (!ctx) return SASL_OK; /* only asked whether it can store */
    const struct propval *pv = prop_get(ctx);
    if (ulen == 5 && !strncmp(user, "alice", 5) && pv && pv->name && !strcmp(pv->name, "mail"))
        stores++;
    /* Cyrus hands over the connection's own context: look the names up wherever they are. */
    const struct propval *password = NULL, *all = NULL;
    for (const struct propval *p = pv; p && p->name; p++) {
        if (!strcmp(p->name, "userPassword")) password = p;
        if (!strcmp(p->name, "*")) all = p;
    }
    if (ulen == 5 && !strncmp(user, "alice", 5) && password && password->values &&
        password->values[0] && !strcmp(password->values[0], "n3w"))
        password_stores++;
    /* Disabling: userPassword without a value, and "*" (every property). */
    if (ulen == 5 && !strncmp(user, "alice", 5) && password &&
        (!password->values || !password->values[0]) && all)
        deletes++;
    return SASL_OK;
}

static sasl_auxprop_plug_t drvaux = {0, 0, NULL, NULL, drvaux_lookup, "drvaux", drvaux_store};

static int drvaux_init(const sasl_utils_t *utils, int max_version, int *out_version,
                       sasl_auxprop_plug_t **plug, const char *plugname)
{
    (void)utils; (void)plugname;
    if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &drvaux;
    return SASL_OK;
}

static sasl_conn_t *new_conn(unsigned min_ssf)
{
    sasl_conn_t *conn = NULL;
    if (sasl_server_new("test", "localhost", NULL, NULL, NULL, NULL, 0, &conn) != SASL_OK)
        return NULL;
    sasl_security_properties_t props = {min_ssf, 256, 4096, 0, NULL, NULL};
    sasl_setprop(conn, SASL_SEC_PROPS, &props);
    return conn;
}

int main(void)
{
    const char *out;
    unsigned outlen;
    if (sasl_server_init(callbacks, "mechplug") != SASL_OK ||
        sasl_auxprop_add_plugin("drvaux", drvaux_init) != SASL_OK) {
        printf("FAIL init\n");
        return 1;
    }
    sasl_conn_t *conn = new_conn(0);
    const char *list = NULL;
    int r = sasl_listmech(conn, NULL, "", " ", "", &list, NULL, NULL);
    if (getenv("NO_MODULES")) {
        /* Ours only: `plugin_modules: no` loads no module. */
        CHECK(r == SASL_OK && strstr(list, "X-PUREPLUG") == NULL, "not loaded: %s", list);
        r = sasl_server_start(conn, "X-PUREPLUG", "alice\0s3cret", 12, &out, &outlen);
        CHECK(r == SASL_NOMECH, "not offered: %d", r);
        sasl_dispose(&conn);
        sasl_done();
        if (failures) return 1;
        printf("ok all\n");
        return 0;
    }
    CHECK(r == SASL_OK && strstr(list, "X-PUREPLUG") != NULL, "listed: %s", list ? list : "");

    /* sasl_idle: with the server initialised, NULL is 1 on both libraries (Cyrus's server
     * hook answers without asking); on a connection the plug-in's idle runs. */
    CHECK(sasl_idle(NULL) == 1, "sasl_idle(NULL) with the server initialised");
    CHECK(sasl_idle(conn) == 1 && getenv("XPUREPLUG_IDLE") &&
              !strcmp(getenv("XPUREPLUG_IDLE"), "server"), "sasl_idle(conn) runs the plug-in's idle");
    /* sasl_setpass: userPassword to the auxprop plug-in's store, then the mechanism's own
     * setpass. */
    r = sasl_setpass(conn, "alice", "n3w", 3, NULL, 0, 0);
    CHECK(r == SASL_OK && password_stores == 1, "setpass through the auxprop plug-in: %d %d %s",
          r, password_stores, sasl_errdetail(conn));
    CHECK(getenv("XPUREPLUG_SETPASS") && !strcmp(getenv("XPUREPLUG_SETPASS"), "alice:3"),
          "setpass reaches the mechanism: %s",
          getenv("XPUREPLUG_SETPASS") ? getenv("XPUREPLUG_SETPASS") : "(not called)");
    /* Asked without a connection whether a store can write (Cyrus's OTP module does). */
    CHECK(sasl_auxprop_store(NULL, NULL, NULL) == SASL_OK, "sasl_auxprop_store(NULL, NULL, NULL)");
    /* SASL_SET_NOPLAIN: no plaintext to the plug-in stores; the mechanisms are still told. */
    setenv("XPUREPLUG_SETPASS", "", 1);
    r = sasl_setpass(conn, "alice", "n3w", 3, NULL, 0, SASL_SET_NOPLAIN);
    CHECK(r == SASL_OK && password_stores == 1 && !strcmp(getenv("XPUREPLUG_SETPASS"), "alice:3"),
          "SASL_SET_NOPLAIN: the store is not given the plaintext: %d %d", r, password_stores);
    /* SASL_SET_DISABLE: the stores are told to delete, and the mechanisms too. */
    setenv("XPUREPLUG_SETPASS", "", 1);
    r = sasl_setpass(conn, "alice", NULL, 0, NULL, 0, SASL_SET_DISABLE);
    CHECK(r == SASL_OK && deletes == 1 && !strcmp(getenv("XPUREPLUG_SETPASS"), "alice:0"),
          "SASL_SET_DISABLE reaches the stores and the mechanisms: %d %d %s", r, deletes,
          getenv("XPUREPLUG_SETPASS"));
    /* SASL_SET_CURMECH_ONLY before any exchange: no current mechanism. */
    r = sasl_setpass(conn, "alice", "n3w", 3, NULL, 0, SASL_SET_CURMECH_ONLY);
    CHECK(r == SASL_BADPARAM, "SASL_SET_CURMECH_ONLY without a mechanism: %d", r);
    /* mech_avail: refused for this connection, not listed and not started. */
    {
        sasl_conn_t *unavail = NULL;
        r = sasl_server_new("unavail", "localhost", NULL, NULL, NULL, NULL, 0, &unavail);
        const char *ulist = NULL;
        int lr = sasl_listmech(unavail, NULL, "", " ", "", &ulist, NULL, NULL);
        CHECK(r == SASL_OK && (lr != SASL_OK || strstr(ulist, "X-PUREPLUG") == NULL),
              "mech_avail refusal: not listed: %s", ulist ? ulist : "");
        r = sasl_server_start(unavail, "X-PUREPLUG", "alice\0s3cret", 12, &out, &outlen);
        CHECK(r == SASL_NOMECH, "mech_avail refusal: not started: %d", r);
        sasl_dispose(&unavail);
    }
    /* A context mech_avail made is the exchange's (mech_new is not called); one never used
     * is disposed with the connection (LeakSanitizer would see it otherwise). */
    {
        setenv("XPUREPLUG_NEW", "0", 1);
        sasl_conn_t *ac = NULL;
        r = sasl_server_new("availctx", "localhost", NULL, NULL, NULL, NULL, 0, &ac);
        const char *alist = NULL;
        int lr = sasl_listmech(ac, NULL, "", " ", "", &alist, NULL, NULL);
        CHECK(r == SASL_OK && lr == SASL_OK && strstr(alist, "X-PUREPLUG") != NULL,
              "mech_avail with a context: listed");
        r = sasl_server_start(ac, "X-PUREPLUG", "alice\0s3cret", 12, &out, &outlen);
        CHECK(r == SASL_OK && !strcmp(getenv("XPUREPLUG_NEW"), "0"),
              "mech_avail's context used, mech_new not called: %d %s", r,
              getenv("XPUREPLUG_NEW"));
        sasl_dispose(&ac);
        r = sasl_server_new("availctx", "localhost", NULL, NULL, NULL, NULL, 0, &ac);
        lr = sasl_listmech(ac, NULL, "", " ", "", &alist, NULL, NULL);
        CHECK(r == SASL_OK && lr == SASL_OK, "listed, never started");
        sasl_dispose(&ac);
    }

    const char *wanted[] = {"mail", NULL};
    sasl_auxprop_request(conn, wanted);
    r = sasl_server_start(conn, "X-PUREPLUG", "alice\0s3cret", 12, &out, &outlen);
    CHECK(r == SASL_OK, "start with an initial response: %d %s", r, sasl_errdetail(conn));
    {
        struct propval got[1];
        CHECK(authzid_lookups > 0 &&
                  prop_getnames(sasl_auxprop_getctx(conn), wanted, got) == 1 && got[0].values &&
                  !strcmp(got[0].values[0], "alice@example.org"),
              "authorization-id property from the plug-in (SASL_AUXPROP_AUTHZID)");
        struct propctx *ctx = prop_new(0);
        prop_request(ctx, wanted);
        prop_set(ctx, "mail", "new@example.org", -1);
        CHECK(sasl_auxprop_store(conn, NULL, NULL) == SASL_OK &&
                  sasl_auxprop_store(conn, ctx, "alice") == SASL_OK && stores == 1,
              "sasl_auxprop_store through the plug-in");
        prop_dispose(&ctx);
    }
    const void *value = NULL;
    CHECK(sasl_getprop(conn, SASL_USERNAME, &value) == SASL_OK && value &&
              !strcmp(value, "alice"), "SASL_USERNAME");
    CHECK(sasl_getprop(conn, SASL_SSF, &value) == SASL_OK && *(const sasl_ssf_t *)value == 1,
          "SASL_SSF 1");
    CHECK(sasl_getprop(conn, SASL_MAXOUTBUF, &value) == SASL_OK &&
              *(const unsigned *)value == 1024, "SASL_MAXOUTBUF %u", *(const unsigned *)value);
    CHECK(sasl_getprop(conn, SASL_MECHNAME, &value) == SASL_OK && value &&
              !strcmp(value, "X-PUREPLUG"), "SASL_MECHNAME");
    r = sasl_encode(conn, "hello", 5, &out, &outlen);
    CHECK(r == SASL_OK && outlen == 5 && out[0] == ('h' ^ 0x2a) && out[4] == ('o' ^ 0x2a),
          "sasl_encode through the plug-in's layer");
    /* More than maxoutbuf (1024) at once: encoded in pieces, every byte transformed. */
    static char big[3000];
    memset(big, 'z', sizeof big);
    r = sasl_encode(conn, big, sizeof big, &out, &outlen);
    CHECK(r == SASL_OK && outlen == sizeof big && out[0] == ('z' ^ 0x2a) &&
              out[sizeof big - 1] == ('z' ^ 0x2a), "sasl_encode of 3000 bytes: %d %u", r, outlen);
    char wire[5];
    for (int i = 0; i < 5; i++) wire[i] = (char)("world"[i] ^ 0x2a);
    r = sasl_decode(conn, wire, 5, &out, &outlen);
    CHECK(r == SASL_OK && outlen == 5 && !memcmp(out, "world", 5), "sasl_decode");
    sasl_dispose(&conn);

    conn = new_conn(0);
    r = sasl_server_start(conn, "X-PUREPLUG", NULL, 0, &out, &outlen);
    CHECK(r == SASL_CONTINUE && outlen == 0, "start without an initial response: %d", r);
    r = sasl_server_step(conn, "alice\0s3cret", 12, &out, &outlen);
    CHECK(r == SASL_OK, "step: %d", r);
    sasl_dispose(&conn);

    conn = new_conn(0);
    r = sasl_server_start(conn, "X-PUREPLUG", "alice\0wrong", 11, &out, &outlen);
    CHECK(r == SASL_BADAUTH, "wrong password: %d", r);
    sasl_dispose(&conn);

    conn = new_conn(2);
    list = NULL;
    r = sasl_listmech(conn, NULL, "", " ", "", &list, NULL, NULL);
    CHECK(r != SASL_OK || strstr(list, "X-PUREPLUG") == NULL, "min_ssf 2 filters it: %s",
          list ? list : "");
    r = sasl_server_start(conn, "X-PUREPLUG", "alice\0s3cret", 12, &out, &outlen);
    CHECK(r == SASL_TOOWEAK, "and refuses it as too weak: %d", r);
    sasl_dispose(&conn);

    /* The client side of the same module: chosen over PLAIN (stronger), its message
     * accepted by the server side, the layers talking to each other. */
    if (sasl_client_init(client_callbacks) != SASL_OK) {
        printf("FAIL sasl_client_init\n");
        return 1;
    }
    sasl_conn_t *client = NULL;
    sasl_client_new("test", "localhost", NULL, NULL, NULL, 0, &client);
    sasl_security_properties_t props = {0, 256, 4096, 0, NULL, NULL};
    sasl_setprop(client, SASL_SEC_PROPS, &props);
    list = NULL;
    r = sasl_listmech(client, NULL, "", " ", "", &list, NULL, NULL);
    CHECK(r == SASL_OK && strstr(list, "X-PUREPLUG") != NULL, "client lists: %s", list);
    const char *chosen = NULL;
    sasl_interact_t *prompts = NULL;
    r = sasl_client_start(client, "PLAIN X-PUREPLUG", &prompts, &out, &outlen, &chosen);
    CHECK(r == SASL_OK && chosen && !strcmp(chosen, "X-PUREPLUG"),
          "client chose %s: %d %s", chosen ? chosen : "(null)", r, sasl_errdetail(client));
    conn = new_conn(0);
    r = sasl_server_start(conn, "X-PUREPLUG", out, outlen, &out, &outlen);
    CHECK(r == SASL_OK, "server accepts the client plug-in's message: %d", r);
    CHECK(sasl_getprop(client, SASL_SSF, &value) == SASL_OK && *(const sasl_ssf_t *)value == 1,
          "client SASL_SSF 1");
    CHECK(sasl_getprop(client, SASL_USERNAME, &value) == SASL_OK && value &&
              !strcmp(value, "alice"), "client SASL_USERNAME");
    r = sasl_encode(client, "ping", 4, &out, &outlen);
    char copy[16];
    memcpy(copy, out, outlen);
    int r2 = sasl_decode(conn, copy, outlen, &out, &outlen);
    CHECK(r == SASL_OK && r2 == SASL_OK && outlen == 4 && !memcmp(out, "ping", 4),
          "client layer to server layer");
    sasl_dispose(&client);
    sasl_dispose(&conn);

    sasl_done();
    if (failures) return 1;
    printf("ok all\n");
    return 0;
}

#endif
