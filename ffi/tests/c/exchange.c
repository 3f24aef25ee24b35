/* Client/server exchanges through the C API, for every mechanism the library lists, plus the
 * error paths, the base64 and errstring edge cases. Built against include/sasl and run under
 * AddressSanitizer and valgrind by ffi/tests/c_programs.rs. Prints "ok" lines and exits 0 only
 * if every check passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

static const char *client_user = "bob";
static const char *client_pass = "pw2";
static char log_buf[4096];

static int getopt_cb(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx; (void)plugin;
    if (strcmp(option, "pwcheck_method") == 0) { *result = "auxprop"; if (len) *len = 7; return SASL_OK; }
    if (strcmp(option, "sasldb_path") == 0 && getenv("TEST_SASLDB")) { *result = getenv("TEST_SASLDB"); if (len) *len = (unsigned)strlen(*result); return SASL_OK; }
    if (strcmp(option, "mech_list") == 0 && getenv("TEST_MECH_LIST")) { *result = getenv("TEST_MECH_LIST"); if (len) *len = (unsigned)strlen(*result); return SASL_OK; }
    if (strcmp(option, "scram_iteration_counter") == 0) { *result = "4096"; if (len) *len = 4; return SASL_OK; }
    return SASL_FAIL;
}

static int log_cb(void *ctx, int level, const char *msg)
{
    (void)ctx;
    snprintf(log_buf + strlen(log_buf), sizeof log_buf - strlen(log_buf), "[%d] %s\n", level, msg);
    if (strlen(log_buf) > 3000) log_buf[0] = 0;
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

static void *late_context;
static int late_simple_cb(void *ctx, int id, const char **result, unsigned *len)
{
    if (ctx == NULL || ctx != late_context) return SASL_FAIL;
    return simple_cb(ctx, id, result, len);
}

/* Like Postfix: malloc'd, never freed by the library; we free it ourselves at the end. */
static sasl_secret_t *secret;
static int pass_cb(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
    size_t len = strlen(client_pass);
    (void)ctx;
    if (!conn || !psecret || id != SASL_CB_PASS) return SASL_BADPARAM;
    free(secret);
    secret = malloc(sizeof(sasl_secret_t) + len);
    secret->len = len;
    memcpy(secret->data, client_pass, len + 1);
    *psecret = secret;
    return SASL_OK;
}

static sasl_callback_t server_cbs[] = {
    {SASL_CB_GETOPT, (int (*)(void))getopt_cb, NULL},
    {SASL_CB_LOG, (int (*)(void))log_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t prompt_cbs[] = {
    {SASL_CB_USER, NULL, NULL},
    {SASL_CB_AUTHNAME, NULL, NULL},
    {SASL_CB_PASS, NULL, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t client_cbs[] = {
    {SASL_CB_AUTHNAME, (int (*)(void))simple_cb, NULL},
    {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static int prompted;
static void fill_prompts(sasl_interact_t *prompts)
{
    sasl_interact_t *p;
    prompted++;
    for (p = prompts; p && p->id != SASL_CB_LIST_END; p++) {
        CHECK(p->prompt != NULL, "prompt text");
        if (p->id == SASL_CB_AUTHNAME) { p->result = client_user; p->len = (unsigned)strlen(client_user); }
        else if (p->id == SASL_CB_PASS) { p->result = client_pass; p->len = (unsigned)strlen(client_pass); }
        else { p->result = ""; p->len = 0; }
    }
}

/* Runs one exchange; returns the server's final result. */
static int exchange(const char *mech, unsigned server_flags, int use_prompts, const char **username)
{
    sasl_conn_t *server = NULL, *client = NULL;
    const char *out = NULL, *chosen = NULL, *sout = NULL;
    unsigned outlen = 12345, soutlen = 12345;
    sasl_interact_t *prompts = NULL;
    sasl_security_properties_t props = {0, 256, 65536, 0, NULL, NULL};
    int r, cr, steps = 0;

    r = sasl_server_new("smtp", "Mail.Example.ORG", NULL, "127.0.0.1;25", "127.0.0.1;40000", NULL, server_flags, &server);
    CHECK(r == SASL_OK, "server_new %d", r);
    r = sasl_client_new("smtp", "mail.example.org", NULL, NULL, use_prompts ? prompt_cbs : client_cbs, 0, &client);
    CHECK(r == SASL_OK, "client_new %d", r);
    CHECK(sasl_setprop(server, SASL_SEC_PROPS, &props) == SASL_OK, "server props");
    CHECK(sasl_setprop(client, SASL_SEC_PROPS, &props) == SASL_OK, "client props");
    cr = sasl_client_start(client, mech, use_prompts ? &prompts : NULL, &out, &outlen, &chosen);
    if (cr == SASL_INTERACT) {
        CHECK(use_prompts, "INTERACT without prompts");
        fill_prompts(prompts);
        cr = sasl_client_start(client, mech, &prompts, &out, &outlen, &chosen);
    }
    CHECK(cr == SASL_OK || cr == SASL_CONTINUE, "client_start %s: %d %s", mech, cr, sasl_errdetail(client));
    CHECK(chosen && strcmp(chosen, mech) == 0, "chosen %s", chosen ? chosen : "(null)");
    r = sasl_server_start(server, mech, out, outlen, &sout, &soutlen);
    CHECK(soutlen != 12345, "serveroutlen always written");
    while (r == SASL_CONTINUE && steps++ < 10) {
        cr = sasl_client_step(client, sout, soutlen, use_prompts ? &prompts : NULL, &out, &outlen);
        if (cr == SASL_INTERACT) {
            fill_prompts(prompts);
            cr = sasl_client_step(client, sout, soutlen, &prompts, &out, &outlen);
        }
        if (cr != SASL_OK && cr != SASL_CONTINUE) {
            /* The server rejected us with a last challenge (SCRAM's e=): its verdict comes
             * with the next step, whatever the client sends. */
            r = sasl_server_step(server, "", 0, &sout, &soutlen);
            if (r == SASL_OK || r == SASL_CONTINUE) r = cr;
            break;
        }
        r = sasl_server_step(server, out, outlen, &sout, &soutlen);
    }
    if (r == SASL_OK && cr == SASL_CONTINUE && (server_flags & SASL_SUCCESS_DATA) && sout && soutlen > 0) {
        /* The success data (DIGEST-MD5's rspauth, SCRAM's v=) came with SASL_OK. */
        cr = sasl_client_step(client, sout, soutlen, NULL, &out, &outlen);
        CHECK(cr == SASL_OK, "%s client checks the success data: %d", mech, cr);
    }
    if (username) {
        const void *name = NULL;
        int pr = sasl_getprop(server, SASL_USERNAME, &name);
        static char copy[256];
        copy[0] = 0;
        if (pr == SASL_OK && name) snprintf(copy, sizeof copy, "%s", (const char *)name);
        *username = pr == SASL_OK ? copy : NULL;
    }
    if (r == SASL_OK) {
        const void *ssf = NULL, *mechname = NULL;
        CHECK(sasl_getprop(server, SASL_SSF, &ssf) == SASL_OK && ssf, "SSF prop");
        CHECK(sasl_getprop(server, SASL_MECHNAME, &mechname) == SASL_OK && strcmp(mechname, mech) == 0, "MECHNAME prop");
        {
            const char *enc = NULL, *dec = NULL; unsigned enclen = 0, declen = 0;
            int er = sasl_encode(client, "hello", 5, &enc, &enclen);
            CHECK(er == SASL_OK, "encode: %d %s", er, sasl_errdetail(client));
            int dr = sasl_decode(server, enc, enclen, &dec, &declen);
            CHECK(dr == SASL_OK && declen == 5 && memcmp(dec, "hello", 5) == 0, "%s decode: %d %s", mech, dr, sasl_errdetail(server));
        }
    } else {
        const char *detail = sasl_errdetail(server);
        CHECK(detail != NULL, "errdetail");
    }
    sasl_dispose(&client);
    sasl_dispose(&server);
    CHECK(server == NULL && client == NULL, "dispose clears the pointer");
    return r;
}

static void test_base64(void)
{
    char buf[64];
    unsigned len = 999;
    CHECK(sasl_encode64("abc", 3, buf, 4, &len) == SASL_BUFOVER && len == 4, "encode64 needs room for NUL");
    CHECK(sasl_encode64("abc", 3, buf, 5, &len) == SASL_OK && len == 4 && strcmp(buf, "YWJj") == 0, "encode64 abc");
    CHECK(sasl_encode64(NULL, 1, buf, 5, &len) == SASL_BADPARAM, "encode64 NULL");
    CHECK(sasl_encode64("", 0, buf, 1, &len) == SASL_OK && len == 0 && buf[0] == 0, "encode64 empty");
    CHECK(sasl_encode64("\0bob\0pw2", 8, buf, sizeof buf, NULL) == SASL_OK && strcmp(buf, "AGJvYgBwdzI=") == 0, "encode64 plain");
    len = 999;
    CHECK(sasl_decode64("AGJvYgBwdzI=", 12, buf, sizeof buf, &len) == SASL_OK && len == 8 && memcmp(buf, "\0bob\0pw2", 9) == 0, "decode64");
    CHECK(sasl_decode64("=", 1, buf, sizeof buf, &len) == SASL_CONTINUE && len == 0, "decode64 =");
    CHECK(sasl_decode64("AAA", 3, buf, sizeof buf, &len) == SASL_CONTINUE && len == 0, "decode64 partial");
    CHECK(sasl_decode64("!!!!", 4, buf, sizeof buf, &len) == SASL_BADPROT, "decode64 bad chars");
    CHECK(sasl_decode64("AA AA", 5, buf, sizeof buf, &len) == SASL_BADPROT, "decode64 space");
    CHECK(sasl_decode64("\rAAA", 4, buf, sizeof buf, &len) == SASL_FAIL, "decode64 CR");
    CHECK(sasl_decode64("AA==", 4, buf, 1, &len) == SASL_BUFOVER, "decode64 outmax counts NUL");
    CHECK(sasl_decode64("AA==", 4, buf, 2, &len) == SASL_OK && len == 1, "decode64 fits");
    CHECK(sasl_decode64("AA==", 4, NULL, 2, &len) == SASL_FAIL, "decode64 NULL out");
    CHECK(sasl_decode64("", 0, buf, sizeof buf, &len) == SASL_OK && len == 0 && buf[0] == 0, "decode64 empty");
    printf("ok base64\n");
}

static void test_errstring(void)
{
    const char *lang = NULL;
    CHECK(strcmp(sasl_errstring(SASL_BADAUTH, NULL, &lang), "authentication failure") == 0, "BADAUTH");
    CHECK(lang && strcmp(lang, "en-us") == 0, "outlang");
    CHECK(strcmp(sasl_errstring(SASL_CONTINUE, NULL, NULL), "another step is needed in authentication") == 0, "CONTINUE");
    CHECK(strcmp(sasl_errstring(SASL_NOMECH, NULL, NULL), "no mechanism available") == 0, "NOMECH");
    CHECK(strcmp(sasl_errstring(SASL_BADPROT, NULL, NULL), "bad protocol / cancel") == 0, "BADPROT");
    CHECK(strcmp(sasl_errstring(12345, NULL, NULL), "undefined error!") == 0, "unknown");
    printf("ok errstring\n");
}

int main(void)
{
    const char **mechs, **m;
    const char *user = NULL, *impl = NULL, *ver = NULL, *list = NULL, *sout = NULL;
    int major = 0, minor = 0, step = 0, patch = -1, count = 0, r;
    unsigned len = 0, soutlen = 1;
    sasl_conn_t *conn = NULL;
    sasl_security_properties_t props;

    test_base64();
    test_errstring();

    sasl_version_info(&impl, &ver, &major, &minor, &step, &patch);
    CHECK(major == 2 && minor == 1 && step == 28 && patch == 0 && strcmp(impl, "Cyrus SASL") == 0, "version_info");
    sasl_version_info(NULL, NULL, NULL, NULL, NULL, NULL);

    CHECK(sasl_server_new("smtp", "h", NULL, NULL, NULL, NULL, 0, &conn) == SASL_NOTINIT, "server_new before init");
    CHECK(sasl_set_path(SASL_PATH_TYPE_CONFIG, NULL) == SASL_FAIL, "set_path NULL");
    CHECK(sasl_set_path(SASL_PATH_TYPE_CONFIG, "/nonexistent") == SASL_OK, "set_path");
    CHECK(sasl_server_init(server_cbs, "exchange-test") == SASL_OK, "server_init");
    CHECK(sasl_client_init(NULL) == SASL_OK, "client_init");

    /* Users: created through sasl_setpass, in the realm of the server name (lower-cased). */
    CHECK(sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &conn) == SASL_OK, "server_new");
    CHECK(sasl_setpass(conn, "bob", "pw2", 3, NULL, 0, SASL_SET_CREATE) == SASL_OK, "setpass");
    r = sasl_setpass(conn, "bob", "pw2", 3, NULL, 0, SASL_SET_CREATE);
    CHECK(r == SASL_OK, "setpass create twice (Cyrus overwrites): %d", r);
    CHECK(sasl_user_exists(conn, NULL, NULL, "bob") == SASL_OK, "user_exists");
    CHECK(sasl_user_exists(conn, NULL, NULL, "nobody") == SASL_NOUSER, "user_exists nobody");
    CHECK(sasl_checkpass(conn, "bob", 3, "pw2", 3) == SASL_OK, "checkpass");
    CHECK(sasl_checkpass(conn, "bob", 3, "pw3", 3) == SASL_BADAUTH, "checkpass wrong");
    CHECK(sasl_checkpass(conn, "nobody", 6, "pw3", 3) == SASL_NOUSER, "checkpass nouser");
    sasl_seterror(conn, SASL_NOLOG, "custom %s %d", "detail", 42);
    CHECK(strstr(sasl_errdetail(conn), "custom detail 42") != NULL, "seterror: %s", sasl_errdetail(conn));

    /* Postfix's listing call, and the NOTDONE username before any exchange. */
    r = sasl_listmech(conn, NULL, "", " ", "", &list, NULL, &count);
    CHECK(r == SASL_OK && count > 0 && strstr(list, "PLAIN") != NULL, "listmech %d", r);
    printf("mechanisms: %s\n", list);
    r = sasl_listmech(conn, NULL, "(", ",", ")", &list, &len, &count);
    CHECK(r == SASL_OK && list[0] == '(' && list[len - 1] == ')' && strlen(list) == len, "listmech wrapped");
    r = sasl_getprop(conn, SASL_USERNAME, (const void **)&user);
    CHECK(r == SASL_NOTDONE || r == SASL_OK, "USERNAME before auth: %d", r);
    if (r == SASL_OK) printf("USERNAME before auth: %s\n", user ? user : "(null)");
    memset(&props, 0, sizeof props);
    props.security_flags = SASL_SEC_NOPLAINTEXT;
    CHECK(sasl_setprop(conn, SASL_SEC_PROPS, &props) == SASL_OK, "setprop");
    r = sasl_listmech(conn, NULL, "", " ", "", &list, NULL, &count);
    CHECK(r != SASL_OK || strstr(list, "PLAIN") == NULL, "noplaintext filters PLAIN: %s", list);
    props.min_ssf = 56;
    CHECK(sasl_setprop(conn, SASL_SEC_PROPS, &props) == SASL_TOOWEAK, "min_ssf without maxbufsize");
    CHECK(sasl_server_start(conn, "NOSUCH", NULL, 0, &sout, &soutlen) == SASL_NOMECH && soutlen == 0, "unknown mech");
    sasl_dispose(&conn);
    sasl_dispose(&conn);
    sasl_dispose(NULL);

    CHECK(sasl_server_new("smtp", "h", NULL, "not-an-ip;25", NULL, NULL, 0, &conn) == SASL_BADPARAM, "bad ip");
    CHECK(sasl_server_new("smtp", "h", NULL, "::1;25", "192.0.2.1;4000", NULL, 0, &conn) == SASL_OK, "ipv6");
    sasl_dispose(&conn);
    CHECK(sasl_server_start(NULL, "PLAIN", NULL, 0, &sout, &soutlen) == SASL_BADPARAM, "NULL conn");
    CHECK(sasl_getprop(NULL, SASL_USERNAME, (const void **)&user) == SASL_BADPARAM, "NULL conn getprop");

    mechs = sasl_global_listmech();
    CHECK(mechs != NULL && mechs[0] != NULL, "global_listmech");
    /* Every mechanism the server offers (mech_list, else all the library has). */
    CHECK(sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &conn) == SASL_OK, "server_new");
    CHECK(sasl_listmech(conn, NULL, "", "\n", "", &list, NULL, &count) == SASL_OK, "listmech");
    {
        static char names[1024];
        static const char *offered[64];
        int n = 0;
        char *tok;
        snprintf(names, sizeof names, "%s", list);
        for (tok = strtok(names, "\n"); tok && n < 63; tok = strtok(NULL, "\n")) offered[n++] = tok;
        offered[n] = NULL;
        mechs = offered;
    }
    sasl_dispose(&conn);
    for (m = mechs; m && *m; m++) {
        /* ANONYMOUS has no password to get wrong: anon_external.c tests it. */
        if (strstr(*m, "-PLUS") || strcmp(*m, "ANONYMOUS") == 0) continue;
        client_pass = "pw2";
        r = exchange(*m, 0, 0, &user);
        CHECK(r == SASL_OK, "%s good password: %d (%s)", *m, r, log_buf);
        CHECK(user && strcmp(user, "bob") == 0, "%s username %s", *m, user ? user : "(null)");
        prompted = 0;
        r = exchange(*m, SASL_SUCCESS_DATA, 1, &user);
        CHECK(r == SASL_OK && prompted >= 1, "%s with prompts and success data: %d", *m, r);
        client_pass = "wrong";
        r = exchange(*m, 0, 0, &user);
        CHECK(r == SASL_BADAUTH, "%s wrong password: %d", *m, r);
        client_user = "nobody";
        r = exchange(*m, 0, 0, &user);
        CHECK(r == SASL_NOUSER, "%s unknown user (NOUSER, which Postfix shows as BADAUTH): %d", *m, r);
        client_user = "bob";
        printf("ok %s\n", *m);
    }

    /* Channel binding: the -PLUS mechanisms appear, and work, once both sides set
     * SASL_CHANNEL_BINDING; different binding data fails. */
    for (m = sasl_global_listmech(); m && *m; m++) {
        static const unsigned char data[] = "tls-unique-bytes", other[] = "something-else!!";
        sasl_channel_binding_t cb = {"tls-unique", 0, sizeof data - 1, data};
        sasl_channel_binding_t cb_other = {"tls-unique", 0, sizeof other - 1, other};
        int round;
        if (!strstr(*m, "-PLUS")) continue;
        for (round = 0; round < 2; round++) {
            sasl_conn_t *s = NULL, *c = NULL;
            const char *out = NULL, *chosen = NULL;
            unsigned outlen = 0;
            int steps = 0, cr;
            client_pass = "pw2";
            sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &s);
            sasl_client_new("smtp", "mail.example.org", NULL, NULL, client_cbs, 0, &c);
            r = sasl_listmech(s, NULL, "", " ", "", &list, NULL, &count);
            CHECK(r == SASL_OK && !strstr(list, "-PLUS"), "-PLUS offered without binding: %s", list);
            CHECK(sasl_setprop(s, SASL_CHANNEL_BINDING, &cb) == SASL_OK, "server binding");
            CHECK(sasl_setprop(c, SASL_CHANNEL_BINDING, round ? &cb_other : &cb) == SASL_OK, "client binding");
            r = sasl_listmech(s, NULL, "", " ", "", &list, NULL, &count);
            CHECK(r == SASL_OK && strstr(list, *m), "%s not offered with binding: %s", *m, list);
            cr = sasl_client_start(c, *m, NULL, &out, &outlen, &chosen);
            r = sasl_server_start(s, *m, out, outlen, &sout, &soutlen);
            while (r == SASL_CONTINUE && steps++ < 10) {
                cr = sasl_client_step(c, sout, soutlen, NULL, &out, &outlen);
                if (cr != SASL_OK && cr != SASL_CONTINUE) {
                    r = sasl_server_step(s, "", 0, &sout, &soutlen);
                    if (r == SASL_OK || r == SASL_CONTINUE) r = cr;
                    break;
                }
                r = sasl_server_step(s, out, outlen, &sout, &soutlen);
            }
            if (round == 0)
                CHECK(r == SASL_OK, "%s with matching binding: %d (%s)", *m, r, sasl_errdetail(s));
            else
                CHECK(r != SASL_OK, "%s accepted a different binding", *m);
            sasl_dispose(&c);
            sasl_dispose(&s);
        }
        printf("ok %s\n", *m);
    }

    /* PLAIN details: empty initial response, a bad message, an authzid that is refused. */
    {
        sasl_conn_t *s = NULL;
        const void *name = NULL;
        sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &s);
        r = sasl_server_start(s, "PLAIN", NULL, 0, &sout, &soutlen);
        CHECK(r == SASL_CONTINUE && soutlen == 0, "PLAIN without initial response: %d", r);
        r = sasl_server_step(s, "alice\0bob\0pw2", 13, &sout, &soutlen);
        CHECK(r == SASL_BADAUTH, "PLAIN as another user: %d", r);
        CHECK(strstr(sasl_errdetail(s), "Requested identity not authenticated identity") != NULL, "authzid detail: %s", sasl_errdetail(s));
        CHECK(sasl_getprop(s, SASL_USERNAME, &name) == SASL_OK && strcmp(name, "alice") == 0, "attempted user after failure");
        sasl_dispose(&s);
        sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &s);
        r = sasl_server_start(s, "PLAIN", "garbage", 7, &sout, &soutlen);
        CHECK(r == SASL_BADPROT, "PLAIN garbage: %d", r);
        sasl_dispose(&s);
        sasl_server_new("smtp", "mail.example.org", NULL, NULL, NULL, NULL, 0, &s);
        r = sasl_server_start(s, "CRAM-MD5", "x", 1, &sout, &soutlen);
        CHECK(r == SASL_BADPROT, "CRAM-MD5 with initial response: %d", r);
        sasl_dispose(&s);
    }
    /* Like Postfix's SMTP client: the callback contexts are filled in after sasl_client_new,
     * so the library must read the list when it uses it, not copy it. */
    {
        static int marker;
        sasl_callback_t late[] = {
            {SASL_CB_AUTHNAME, (int (*)(void))late_simple_cb, NULL},
            {SASL_CB_PASS, (int (*)(void))pass_cb, NULL},
            {SASL_CB_LIST_END, NULL, NULL},
        };
        sasl_conn_t *c = NULL;
        const char *out = NULL, *chosen = NULL;
        unsigned outlen = 0;
        sasl_client_new("smtp", "mail.example.org", NULL, NULL, late, 0, &c);
        late[0].context = &marker;
        late[1].context = &marker;
        late_context = &marker;
        client_pass = "pw2";
        r = sasl_client_start(c, "PLAIN", NULL, &out, &outlen, &chosen);
        CHECK(r == SASL_OK, "late contexts (PLAIN's client is done after its initial response): %d", r);
        CHECK(outlen == 8 && memcmp(out, "\0bob\0pw2", 8) == 0, "late contexts response");
        sasl_dispose(&c);
    }
    /* The client picks the strongest mechanism it knows from the server's list. */
    {
        sasl_conn_t *c = NULL;
        const char *out = NULL, *chosen = NULL;
        unsigned outlen = 99;
        sasl_client_new("smtp", "mail.example.org", NULL, NULL, client_cbs, 0, &c);
        r = sasl_client_start(c, "LOGIN plain, CRAM-MD5", NULL, &out, &outlen, &chosen);
        CHECK(r == SASL_CONTINUE && strcmp(chosen, "CRAM-MD5") == 0 && outlen == 0, "client choice %s", chosen);
        sasl_dispose(&c);
        sasl_client_new("smtp", "mail.example.org", NULL, NULL, client_cbs, 0, &c);
        r = sasl_client_start(c, "FOO BAR", NULL, &out, &outlen, &chosen);
        CHECK(r == SASL_NOMECH, "no common mechanism: %d", r);
        sasl_dispose(&c);
    }

    CHECK(sasl_server_done() == SASL_OK, "server_done");
    CHECK(sasl_client_done() == SASL_OK, "client_done");
    sasl_done();
    free(secret);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok all\n");
    return 0;
}
