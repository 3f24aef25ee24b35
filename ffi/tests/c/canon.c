/* SASL_CB_CANON_USER on the server: the callback sees each name the client sends, its output
 * is the name looked up and reported (SASL_USERNAME), and its error ends the exchange with
 * that code. Run on our library and on Cyrus's by ffi/tests/c_programs.rs. Prints "ok" lines
 * and exits 0 only if every check passed. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static const char *client_user = "BOB";
static int marker;

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    if (strcmp(option, "pwcheck_method") == 0) { *result = "auxprop"; if (len) *len = 7; return SASL_OK; }
    if (strcmp(option, "sasldb_path") == 0 && getenv("TEST_SASLDB")) { *result = getenv("TEST_SASLDB"); if (len) *len = (unsigned)strlen(*result); return SASL_OK; }
    if (strcmp(option, "mech_list") == 0 && getenv("TEST_MECH_LIST")) { *result = getenv("TEST_MECH_LIST"); if (len) *len = (unsigned)strlen(*result); return SASL_OK; }
    return SASL_FAIL;
}

/* What the callback saw. */
static int calls, upper_authid_calls;
static char seen_realm[64];

/* Lower-cases the name; "REFUSE" is refused with SASL_NOAUTHZ. */
static int canon_cb(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                    const char *user_realm, char *out, unsigned out_max, unsigned *out_len)
{
    unsigned i;
    CHECK(conn != NULL && ctx == &marker, "canon_user arguments");
    calls++;
    if (inlen == 0) inlen = (unsigned)strlen(in);
    if ((flags & SASL_CU_AUTHID) && inlen == 3 && memcmp(in, "BOB", 3) == 0) upper_authid_calls++;
    snprintf(seen_realm, sizeof seen_realm, "%s", user_realm ? user_realm : "(null)");
    if (inlen == 6 && memcmp(in, "REFUSE", 6) == 0) return SASL_NOAUTHZ;
    if (inlen >= out_max) return SASL_BUFOVER;
    for (i = 0; i < inlen; i++) out[i] = (char)tolower((unsigned char)in[i]);
    *out_len = inlen;
    return SASL_OK;
}

static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER) return SASL_BADPARAM;
    *result = id == SASL_CB_AUTHNAME ? client_user : "";
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}

static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)conn; (void)ctx; (void)id;
    free(secret);
    secret = malloc(sizeof(sasl_secret_t) + 4);
    secret->len = 3;
    memcpy(secret->data, "pw2", 4);
    *psecret = secret;
    return SASL_OK;
}

static sasl_callback_t global_cbs[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t canon_cbs[] = {
    {SASL_CB_CANON_USER, (int (*)(void))canon_cb, &marker},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t client_cbs[] = {
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* One exchange of `mech` as `client_user`; the server's result, and its SASL_USERNAME. */
static int exchange(const char *mech, const char *user_realm, int canon, char *username, size_t size)
{
    sasl_conn_t *server = NULL, *client = NULL;
    const char *out = NULL, *sout = NULL, *chosen = NULL;
    unsigned outlen = 0, soutlen = 0;
    const void *name = NULL;
    int r, cr, steps = 0;

    r = sasl_server_new("smtp", "mail.example.org", user_realm, NULL, NULL, canon ? canon_cbs : NULL, 0, &server);
    CHECK(r == SASL_OK, "server_new %d", r);
    r = sasl_client_new("smtp", "mail.example.org", NULL, NULL, client_cbs, 0, &client);
    CHECK(r == SASL_OK, "client_new %d", r);
    cr = sasl_client_start(client, mech, NULL, &out, &outlen, &chosen);
    CHECK(cr == SASL_OK || cr == SASL_CONTINUE, "client_start %s: %d", mech, cr);
    r = sasl_server_start(server, mech, out, outlen, &sout, &soutlen);
    while (r == SASL_CONTINUE && steps++ < 10) {
        cr = sasl_client_step(client, sout, soutlen, NULL, &out, &outlen);
        if (cr != SASL_OK && cr != SASL_CONTINUE) break;
        r = sasl_server_step(server, out, outlen, &sout, &soutlen);
    }
    username[0] = 0;
    if (sasl_getprop(server, SASL_USERNAME, &name) == SASL_OK && name)
        snprintf(username, size, "%s", (const char *)name);
    sasl_dispose(&client);
    sasl_dispose(&server);
    return r;
}

int main(void)
{
    sasl_conn_t *conn = NULL;
    const char *list = NULL;
    char names[1024], username[256], *mech;
    int r, count = 0;

    CHECK(sasl_server_init(global_cbs, "canon-test") == SASL_OK, "server_init");
    CHECK(sasl_client_init(NULL) == SASL_OK, "client_init");
    CHECK(sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &conn) == SASL_OK, "server_new");
    CHECK(sasl_setpass(conn, "bob", "pw2", 3, NULL, 0, SASL_SET_CREATE) == SASL_OK, "setpass");
    CHECK(sasl_listmech(conn, NULL, "", " ", "", &list, NULL, &count) == SASL_OK, "listmech");
    snprintf(names, sizeof names, "%s", list);
    sasl_dispose(&conn);

    for (mech = strtok(names, " "); mech; mech = strtok(NULL, " ")) {
        if (strstr(mech, "-PLUS") || strcmp(mech, "ANONYMOUS") == 0 || strcmp(mech, "EXTERNAL") == 0)
            continue;
        /* Without the callback, BOB is not bob. */
        client_user = "BOB";
        r = exchange(mech, NULL, 0, username, sizeof username);
        CHECK(r == SASL_NOUSER || r == SASL_BADAUTH, "%s BOB without canon_user: %d", mech, r);
        /* With it, BOB logs in as bob. */
        calls = upper_authid_calls = 0;
        r = exchange(mech, NULL, 1, username, sizeof username);
        CHECK(r == SASL_OK, "%s BOB with canon_user: %d", mech, r);
        CHECK(upper_authid_calls >= 1, "%s canon_user called for the authid BOB (%d calls)", mech, calls);
        CHECK(strcmp(username, "bob") == 0, "%s SASL_USERNAME %s", mech, username);
        /* With a user realm, the callback sees it and the name is qualified after it. */
        r = exchange(mech, "mail.example.org", 1, username, sizeof username);
        CHECK(r == SASL_OK, "%s with user realm: %d", mech, r);
        CHECK(strcmp(seen_realm, "mail.example.org") == 0, "%s user_realm given %s", mech, seen_realm);
        CHECK(strcmp(username, "bob@mail.example.org") == 0, "%s SASL_USERNAME %s", mech, username);
        /* The callback's error is the exchange's result. */
        client_user = "REFUSE";
        calls = 0;
        r = exchange(mech, NULL, 1, username, sizeof username);
        CHECK(calls >= 1 && r == SASL_NOAUTHZ, "%s refused by canon_user: %d", mech, r);
        printf("ok %s\n", mech);
    }

    /* sasl_checkpass and sasl_user_exists canonicalise the name too, as Cyrus does. */
    {
        sasl_conn_t *checker = NULL;
        CHECK(sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, canon_cbs, 0, &checker) == SASL_OK,
              "server_new for checkpass");
        calls = 0;
        r = sasl_checkpass(checker, "BOB", 3, "pw2", 3);
        CHECK(r == SASL_OK && calls >= 1, "checkpass BOB with canon_user: %d (%d calls)", r, calls);
        r = sasl_checkpass(checker, "BOB", 3, "wrong", 5);
        CHECK(r == SASL_BADAUTH, "checkpass BOB wrong password: %d", r);
        r = sasl_checkpass(checker, "REFUSE", 6, "pw2", 3);
        CHECK(r == SASL_NOAUTHZ, "checkpass refused by canon_user: %d", r);
        r = sasl_user_exists(checker, NULL, NULL, "BOB");
        CHECK(r == SASL_OK, "user_exists BOB with canon_user: %d", r);
        sasl_dispose(&checker);
        printf("ok checkpass\n");
    }

    sasl_done();
    free(secret);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok all\n");
    return 0;
}
