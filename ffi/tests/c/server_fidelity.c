/* Server-side behaviours of issue 14, each compared with Cyrus by running this program on both
 * libraries (ffi/tests/c_programs.rs):
 *   canon-realm   a CANON_USER that returns user@REALM: every mechanism looks the user up in
 *                 REALM (DIGEST-MD5 with the client's realm= too), SASL_USERNAME is its output;
 *   codes         sasl_server_start of a filtered mechanism: SASL_ENCRYPT (noplaintext),
 *                 SASL_TOOWEAK (min_ssf), SASL_NOMECH (not listed, unknown, other flags);
 *   late-options  auxprop_plugin and sasldb_path answered by GETOPT only after
 *                 sasl_server_init (read when a lookup happens);
 *   proxy-policy  SASL_CB_PROXY_POLICY after every successful exchange, with Cyrus's names,
 *                 and its refusal code is the exchange's;
 *   decode64      empty input with outmax 0, a trailing CRLF, a partial group.
 * Run as `server_fidelity verifyfile` it checks SASL_CB_VERIFYFILE instead (each candidate
 * configuration file asked about, a refused one skipped, the built-in path to its end).
 * Prints "ok <case>" lines and "code ..." lines (compared between the libraries) and exits 0
 * only if every check passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static int late; /* GETOPT names the store only once this is set (after sasl_server_init) */

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    const char *value = NULL;
    (void)ctx; (void)plugin;
    if (strcmp(option, "pwcheck_method") == 0) value = "auxprop";
    else if (strcmp(option, "auxprop_plugin") == 0) value = late ? "sasldb" : "no-such-plugin";
    else if (strcmp(option, "sasldb_path") == 0) value = late ? getenv("TEST_SASLDB") : "/nonexistent/sasldb2";
    else if (strcmp(option, "mech_list") == 0)
        value = "SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 PLAIN LOGIN ANONYMOUS";
    if (!value) return SASL_FAIL;
    *result = value;
    if (len) *len = (unsigned)strlen(value);
    return SASL_OK;
}

static int quiet_log(void *ctx, int level, const char *message)
{
    (void)ctx; (void)level; (void)message;
    return SASL_OK;
}

static sasl_callback_t global_cbs[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))quiet_log, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* The client: authname "bob", the password "pw-bob", the authzid in `client_authzid`. */
static const char *client_authzid = "";
static const char *client_authname = "bob";
static int simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id == SASL_CB_AUTHNAME) *result = client_authname;
    else if (id == SASL_CB_USER) *result = client_authzid;
    else return SASL_BADPARAM;
    if (len) *len = (unsigned)strlen(*result);
    return SASL_OK;
}
static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    (void)conn; (void)ctx; (void)id;
    free(secret);
    secret = malloc(sizeof(sasl_secret_t) + 7);
    secret->len = 6;
    memcpy(secret->data, "pw-bob", 7);
    *psecret = secret;
    return SASL_OK;
}
static sasl_callback_t client_cbs[] = {
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_USER, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* CANON_USER: "bob" becomes "bob@EXAMPLE.ORG"; names with '@' stay as they are. */
static int canon_cb(sasl_conn_t *conn, void *ctx, const char *in, unsigned inlen, unsigned flags,
                    const char *user_realm, char *out, unsigned out_max, unsigned *out_len)
{
    (void)conn; (void)ctx; (void)flags; (void)user_realm;
    if (inlen == 0) inlen = (unsigned)strlen(in);
    if (memchr(in, '@', inlen)) {
        if (inlen >= out_max) return SASL_BUFOVER;
        memcpy(out, in, inlen);
        *out_len = inlen;
    } else {
        int n = snprintf(out, out_max, "%.*s@EXAMPLE.ORG", (int)inlen, in);
        if (n < 0 || (unsigned)n >= out_max) return SASL_BUFOVER;
        *out_len = (unsigned)n;
    }
    return SASL_OK;
}

/* PROXY_POLICY: records its arguments; refuses "refuse-me" with SASL_NOAUTHZ. */
static int policy_calls;
static char policy_seen[512];
static int policy_cb(sasl_conn_t *conn, void *ctx, const char *requested, unsigned rlen,
                     const char *auth, unsigned alen, const char *def_realm, unsigned urlen,
                     struct propctx *propctx)
{
    (void)conn; (void)ctx; (void)propctx;
    policy_calls++;
    snprintf(policy_seen, sizeof policy_seen, "%.*s|%.*s|%.*s", (int)rlen, requested ? requested : "",
             (int)alen, auth ? auth : "", (int)urlen, def_realm ? def_realm : "");
    if (rlen == 9 && memcmp(requested, "refuse-me", 9) == 0) return SASL_NOAUTHZ;
    return SASL_OK;
}

static sasl_callback_t canon_cbs[] = {
    {SASL_CB_CANON_USER, (int (*)(void))canon_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t policy_cbs[] = {
    {SASL_CB_PROXY_POLICY, (int (*)(void))policy_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* One exchange of `mech` between a fresh client and a fresh server; the server's result and
 * its SASL_USERNAME. */
static int exchange(const char *mech, const char *user_realm, sasl_callback_t *server_cbs,
                    char *username, size_t size)
{
    sasl_conn_t *server = NULL, *client = NULL;
    const char *out = NULL, *sout = NULL, *chosen = NULL;
    unsigned outlen = 0, soutlen = 0;
    const void *name = NULL;
    int r, cr, steps = 0;

    r = sasl_server_new("imap", "mail.example.org", user_realm, NULL, NULL, server_cbs, 0, &server);
    CHECK(r == SASL_OK, "server_new %d", r);
    r = sasl_client_new("imap", "mail.example.org", NULL, NULL, client_cbs, 0, &client);
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
    if (r == SASL_OK && sasl_getprop(server, SASL_USERNAME, &name) == SASL_OK && name)
        snprintf(username, size, "%s", (const char *)name);
    sasl_dispose(&client);
    sasl_dispose(&server);
    return r;
}

static const char *mechs[] = {"PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"};
#define NMECHS (sizeof mechs / sizeof mechs[0])

static void canon_realm(void)
{
    char username[256];
    size_t i;
    for (i = 0; i < NMECHS; i++) {
        int r = exchange(mechs[i], NULL, canon_cbs, username, sizeof username);
        CHECK(r == SASL_OK, "canon-realm %s: %d (%s)", mechs[i], r, sasl_errstring(r, NULL, NULL));
        CHECK(strcmp(username, "bob@EXAMPLE.ORG") == 0, "canon-realm %s: SASL_USERNAME %s", mechs[i], username);
    }
    /* A name with the server's own realm stays as it is in SASL_USERNAME (no CANON_USER). */
    client_authname = "bob@mail.example.org";
    for (i = 0; i < NMECHS; i++) {
        if (strcmp(mechs[i], "DIGEST-MD5") == 0) continue; /* its username has no realm */
        int r = exchange(mechs[i], NULL, NULL, username, sizeof username);
        CHECK(r == SASL_OK && strcmp(username, "bob@mail.example.org") == 0, "explicit realm %s: %d %s", mechs[i], r, username);
    }
    client_authname = "bob";
    printf("ok canon-realm\n");
}

static int start_code(const char *mech, sasl_ssf_t min_ssf, unsigned flags)
{
    sasl_conn_t *server = NULL;
    sasl_security_properties_t props;
    const char *out = NULL;
    unsigned outlen = 0;
    int r;
    memset(&props, 0, sizeof props);
    props.min_ssf = min_ssf;
    props.max_ssf = 256;
    props.maxbufsize = 65536;
    props.security_flags = flags;
    CHECK(sasl_server_new("imap", "mail.example.org", NULL, NULL, NULL, NULL, 0, &server) == SASL_OK, "server_new");
    CHECK(sasl_setprop(server, SASL_SEC_PROPS, &props) == SASL_OK, "secprops");
    r = sasl_server_start(server, mech, NULL, 0, &out, &outlen);
    sasl_dispose(&server);
    return r;
}

static void codes(void)
{
    struct { const char *mech; sasl_ssf_t min_ssf; unsigned flags; int want; } cases[] = {
        {"PLAIN", 0, SASL_SEC_NOPLAINTEXT, SASL_ENCRYPT},
        {"LOGIN", 0, SASL_SEC_NOPLAINTEXT | SASL_SEC_NOANONYMOUS, SASL_ENCRYPT},
        {"PLAIN", 56, 0, SASL_TOOWEAK},
        {"CRAM-MD5", 56, SASL_SEC_NOPLAINTEXT, SASL_TOOWEAK},
        {"ANONYMOUS", 0, SASL_SEC_NOANONYMOUS, SASL_NOMECH},
        {"CRAM-MD5", 0, SASL_SEC_MUTUAL_AUTH, SASL_NOMECH},
        {"NTLM", 0, 0, SASL_NOMECH},      /* installed with Cyrus, not in mech_list */
        {"X-UNKNOWN", 0, 0, SASL_NOMECH},
        {"PLAIN", 0, 0, SASL_CONTINUE},
        {"CRAM-MD5", 0, SASL_SEC_NOPLAINTEXT, SASL_CONTINUE},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = start_code(cases[i].mech, cases[i].min_ssf, cases[i].flags);
        CHECK(r == cases[i].want, "codes %s min_ssf=%u flags=%#x: %d, want %d", cases[i].mech,
              cases[i].min_ssf, cases[i].flags, r, cases[i].want);
        printf("code start %s %u %#x %d\n", cases[i].mech, cases[i].min_ssf, cases[i].flags, r);
    }
    printf("ok codes\n");
}

static void late_options(void)
{
    char username[256];
    struct stat st;
    int r;
    /* The users went to the sasldb2 file GETOPT named after init (not to /nonexistent). */
    CHECK(getenv("TEST_SASLDB") && stat(getenv("TEST_SASLDB"), &st) == 0, "late-options: no sasldb2 at TEST_SASLDB");
    r = exchange("SCRAM-SHA-1", NULL, NULL, username, sizeof username);
    CHECK(r == SASL_OK, "late-options: %d", r);
    CHECK(strcmp(username, "bob") == 0, "late-options: SASL_USERNAME %s", username);
    r = exchange("PLAIN", NULL, NULL, username, sizeof username);
    CHECK(r == SASL_OK, "late-options PLAIN: %d", r);
    printf("ok late-options\n");
}

static void proxy_policy(void)
{
    char username[256];
    size_t i;
    int r;
    for (i = 0; i < NMECHS; i++) {
        policy_calls = 0;
        r = exchange(mechs[i], NULL, policy_cbs, username, sizeof username);
        CHECK(r == SASL_OK && policy_calls == 1, "proxy-policy %s: %d, %d calls", mechs[i], r, policy_calls);
        CHECK(strcmp(policy_seen, "bob|bob|") == 0, "proxy-policy %s saw %s", mechs[i], policy_seen);
    }
    /* With a user realm: the names carry it, and the realm is passed. */
    policy_calls = 0;
    r = exchange("PLAIN", "EXAMPLE.ORG", policy_cbs, username, sizeof username);
    CHECK(r == SASL_OK && policy_calls == 1, "proxy-policy realm: %d, %d calls", r, policy_calls);
    CHECK(strcmp(policy_seen, "bob@EXAMPLE.ORG|bob@EXAMPLE.ORG|EXAMPLE.ORG") == 0, "proxy-policy realm saw %s", policy_seen);
    CHECK(strcmp(username, "bob@EXAMPLE.ORG") == 0, "proxy-policy realm username %s", username);
    /* An authorization identity: the callback decides, and its code is the exchange's. */
    client_authzid = "alice";
    r = exchange("PLAIN", NULL, policy_cbs, username, sizeof username);
    CHECK(r == SASL_OK && strcmp(policy_seen, "alice|bob|") == 0, "proxy-policy authzid: %d %s", r, policy_seen);
    CHECK(strcmp(username, "alice") == 0, "proxy-policy authzid username %s", username);
    client_authzid = "refuse-me";
    r = exchange("SCRAM-SHA-1", NULL, policy_cbs, username, sizeof username);
    CHECK(r == SASL_NOAUTHZ, "proxy-policy refusal: %d", r);
    /* Without the callback: Cyrus's default policy refuses another identity. */
    r = exchange("PLAIN", NULL, NULL, username, sizeof username);
    CHECK(r == SASL_BADAUTH, "default policy: %d", r);
    client_authzid = "";
    printf("ok proxy-policy\n");
}

static void decode64(void)
{
    char out[16];
    unsigned len = 99;
    int r;
    memset(out, 'x', sizeof out);
    r = sasl_decode64("", 0, out, 0, &len);
    CHECK(r == SASL_OK && len == 0, "decode64 empty outmax 0: %d %u", r, len);
    len = 99;
    r = sasl_decode64("Ym9i\r\n", 6, out, sizeof out, &len);
    CHECK(r == SASL_CONTINUE && len == 3 && memcmp(out, "bob", 4) == 0, "decode64 CRLF: %d %u", r, len);
    len = 99;
    r = sasl_decode64("Ym9iYg", 6, out, sizeof out, &len);
    CHECK(r == SASL_CONTINUE && len == 3, "decode64 partial: %d %u", r, len);
    r = sasl_decode64("Ym8=\r\n", 6, out, sizeof out, &len);
    CHECK(r == SASL_BADPROT, "decode64 padding then CRLF: %d", r);
    r = sasl_decode64("Ym9i\r\nYm9i", 10, out, sizeof out, &len);
    CHECK(r == SASL_BADPROT, "decode64 CRLF inside: %d", r);
    printf("ok decode64\n");
}

/* VERIFYFILE: which configuration files were asked about, and which are refused. */
static char asked[2048];
static const char *refuse = "";
static int verify_status = SASL_FAIL;
static int verifyfile_cb(void *ctx, const char *file, sasl_verify_type_t type)
{
    (void)ctx;
    if (type != SASL_VRFY_CONF) return SASL_OK; /* plug-ins, the sasldb: not this item */
    strncat(asked, file, sizeof asked - strlen(asked) - 2);
    strcat(asked, ";");
    if (*refuse == '*' || (*refuse && strstr(file, refuse))) return verify_status;
    return SASL_OK;
}
static char confpath[1200];
static int getconfpath_cb(void *ctx, char **path)
{
    (void)ctx;
    *path = confpath;
    return SASL_OK;
}

static int init_with(const char *app, int with_path)
{
    static sasl_callback_t cbs[4];
    int n = 0;
    cbs[n].id = SASL_CB_VERIFYFILE; cbs[n].proc = (int (*)(void))verifyfile_cb; cbs[n++].context = NULL;
    if (with_path) { cbs[n].id = SASL_CB_GETCONFPATH; cbs[n].proc = (int (*)(void))getconfpath_cb; cbs[n++].context = NULL; }
    cbs[n].id = SASL_CB_LOG; cbs[n].proc = (int (*)(void))quiet_log; cbs[n++].context = NULL;
    cbs[n].id = SASL_CB_LIST_END; cbs[n].proc = NULL; cbs[n].context = NULL;
    asked[0] = 0;
    return sasl_server_init(cbs, app);
}

static void listed(char *buf, size_t size)
{
    sasl_conn_t *conn = NULL;
    const char *list = NULL;
    CHECK(sasl_server_new("imap", "mail.example.org", NULL, NULL, NULL, NULL, 0, &conn) == SASL_OK, "server_new");
    buf[0] = 0;
    if (sasl_listmech(conn, NULL, "", " ", "", &list, NULL, NULL) == SASL_OK) snprintf(buf, size, "%s", list);
    sasl_dispose(&conn);
}

static int verifyfile(void)
{
    char dir[256], path[600], list[1024], want[1300];
    FILE *f;
    int r;

    /* The built-in path, searched to its end for an application that has no file. */
    r = init_with("puresasl-fidelity-absent", 0);
    CHECK(r == SASL_OK, "init (built-in path): %d", r);
    CHECK(strcmp(asked, "/etc/sasl2/puresasl-fidelity-absent.conf;/etc/sasl/puresasl-fidelity-absent.conf;"
                        "/usr/lib/x86_64-linux-gnu/sasl2/puresasl-fidelity-absent.conf;"
                        "/usr/lib/sasl2/puresasl-fidelity-absent.conf;") == 0, "built-in path asked %s", asked);
    sasl_done();

    /* Two directories with a file each; the first is refused, so the second is read. */
    snprintf(dir, sizeof dir, "%s", getenv("TEST_DIR") ? getenv("TEST_DIR") : "/tmp");
    snprintf(path, sizeof path, "%s/one", dir); mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/two", dir); mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/one/fidelity.conf", dir);
    f = fopen(path, "w"); CHECK(f != NULL, "write %s", path); if (!f) return 1;
    fputs("mech_list: CRAM-MD5\n", f); fclose(f);
    snprintf(path, sizeof path, "%s/two/fidelity.conf", dir);
    f = fopen(path, "w"); CHECK(f != NULL, "write %s", path); if (!f) return 1;
    fputs("mech_list: PLAIN\n", f); fclose(f);
    snprintf(confpath, sizeof confpath, "%s/one:%s/two", dir, dir);

    refuse = "/one/";
    r = init_with("fidelity", 1);
    CHECK(r == SASL_OK, "init (first refused): %d", r);
    snprintf(want, sizeof want, "%s/one/fidelity.conf;%s/two/fidelity.conf;", dir, dir);
    CHECK(strcmp(asked, want) == 0, "first refused: asked %s", asked);
    listed(list, sizeof list);
    CHECK(strcmp(list, "PLAIN") == 0, "first refused: mechanisms %s", list);
    sasl_done();

    /* Nothing refused: the first file is read, the second not asked about. */
    refuse = "";
    r = init_with("fidelity", 1);
    CHECK(r == SASL_OK, "init (none refused): %d", r);
    snprintf(want, sizeof want, "%s/one/fidelity.conf;", dir);
    CHECK(strcmp(asked, want) == 0, "none refused: asked %s", asked);
    listed(list, sizeof list);
    CHECK(strcmp(list, "CRAM-MD5") == 0, "none refused: mechanisms %s", list);
    sasl_done();

    /* Every file refused: the last refusal is sasl_server_init's result, as in Cyrus. */
    refuse = "*";
    verify_status = SASL_NOVERIFY;
    r = init_with("fidelity", 1);
    printf("code verifyfile all refused %d\n", r);
    CHECK(r == SASL_NOVERIFY, "all refused: init %d", r);
    sasl_done();

    printf("ok verifyfile\n");
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("ok all\n");
    return 0;
}

int main(int argc, char **argv)
{
    sasl_conn_t *conn = NULL;
    int r;

    if (argc > 1 && strcmp(argv[1], "verifyfile") == 0) return verifyfile();

    r = sasl_server_init(global_cbs, "puresasl-fidelity");
    CHECK(r == SASL_OK, "server_init %d", r);
    CHECK(sasl_client_init(NULL) == SASL_OK, "client_init");
    /* From here on GETOPT names the store. */
    late = 1;
    CHECK(sasl_server_new("imap", "mail.example.org", NULL, NULL, NULL, NULL, 0, &conn) == SASL_OK, "server_new");
    r = sasl_setpass(conn, "bob", "pw-bob", 6, NULL, 0, SASL_SET_CREATE);
    CHECK(r == SASL_OK, "setpass bob: %d", r);
    r = sasl_setpass(conn, "bob@EXAMPLE.ORG", "pw-bob", 6, NULL, 0, SASL_SET_CREATE);
    CHECK(r == SASL_OK, "setpass bob@EXAMPLE.ORG: %d", r);
    sasl_dispose(&conn);

    late_options();
    canon_realm();
    codes();
    proxy_policy();
    decode64();

    sasl_done();
    free(secret);
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("ok all\n");
    return 0;
}
